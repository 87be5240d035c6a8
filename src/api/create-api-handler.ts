import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppDeps } from '../app-deps.js'
import { type ApiAction, requireRole, requireUnrestricted } from './access.js'
import { type ApiContext, auditApi, requestIdOf } from './api-context.js'
import { listAuditRecords } from './audit.js'
import { authenticate } from './authenticate.js'
import { deployTask, listDeploys, listTaskDeploys, rollbackTask } from './deploys.js'
import { ApiError, REPO_NAME, sendError, sendJson } from './http.js'
import { listNotifications, testNotifications } from './notifications.js'
import { createTask, getLatestTests, getTask, listTasks, patchTask } from './tasks.js'
import { createToken, listTokens, revokeToken } from './tokens.js'

/**
 * One route: method, path, the action it needs (deny by default: a route cannot be declared
 * without one) and, for changes, the audit action a refusal is recorded under.
 */
interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: RegExp
  action: ApiAction
  audits?: string
  handle(ctx: ApiContext, params: string[]): Promise<void>
}

const TASK = '/api/tasks/([^/]+)'

const ROUTES: readonly Route[] = [
  { method: 'GET', path: /^\/api\/tasks$/, action: 'read', handle: listTasks },
  {
    method: 'POST',
    path: /^\/api\/tasks$/,
    action: 'task.write',
    audits: 'task.create',
    handle: createTask,
  },
  { method: 'GET', path: /^\/api\/deploys$/, action: 'read', handle: listDeploys },
  {
    method: 'GET',
    path: new RegExp(`^${TASK}/deploys$`),
    action: 'read',
    handle: (ctx, [id]) => listTaskDeploys(ctx, decodeSegment(id)),
  },
  {
    method: 'POST',
    path: new RegExp(`^${TASK}/deploy$`),
    action: 'deploy',
    audits: 'deploy',
    handle: (ctx, [id]) => deployTask(ctx, decodeSegment(id)),
  },
  {
    method: 'POST',
    path: new RegExp(`^${TASK}/rollback$`),
    action: 'rollback',
    audits: 'rollback',
    handle: (ctx, [id]) => rollbackTask(ctx, decodeSegment(id)),
  },
  {
    method: 'GET',
    path: new RegExp(`^${TASK}/tests/latest$`),
    action: 'read',
    handle: (ctx, [id]) => getLatestTests(ctx, decodeSegment(id)),
  },
  {
    method: 'GET',
    path: new RegExp(`^${TASK}$`),
    action: 'read',
    handle: (ctx, [id]) => getTask(ctx, decodeSegment(id)),
  },
  {
    method: 'PATCH',
    path: new RegExp(`^${TASK}$`),
    action: 'task.write',
    audits: 'task.status',
    handle: (ctx, [id]) => patchTask(ctx, decodeSegment(id)),
  },
  { method: 'GET', path: /^\/api\/audit$/, action: 'read', handle: listAuditRecords },
  {
    // Deliveries of every repository: only a token for all of them reads the log.
    method: 'GET',
    path: /^\/api\/notifications$/,
    action: 'read',
    handle: (ctx) => {
      requireUnrestricted(ctx.caller, 'The notification log')
      return listNotifications(ctx.res, ctx.url, ctx.deps)
    },
  },
  {
    method: 'POST',
    path: /^\/api\/notifications\/test$/,
    action: 'notifications',
    audits: 'notifications.test',
    handle: (ctx) => testNotifications(ctx.req, ctx.res, ctx.deps),
  },
  { method: 'GET', path: /^\/api\/tokens$/, action: 'tokens', handle: listTokens },
  {
    method: 'POST',
    path: /^\/api\/tokens$/,
    action: 'tokens',
    audits: 'token.create',
    handle: createToken,
  },
  {
    method: 'DELETE',
    path: /^\/api\/tokens\/([^/]+)$/,
    action: 'tokens',
    audits: 'token.revoke',
    handle: (ctx, [id]) => revokeToken(ctx, decodeSegment(id)),
  },
]

/**
 * The manager HTTP API, served by the same process as the webhooks (a Probot `addHandler`).
 * Returns false for paths it does not own so Probot's other handlers can answer them.
 */
export function createApiHandler(deps: Pick<AppDeps, 'store' | 'config' | 'log' | 'queue'>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://devsys.invalid')
    if (url.pathname !== '/api' && !url.pathname.startsWith('/api/')) return false
    if (url.pathname.startsWith('/api/github/')) return false
    const requestId = requestIdOf(req)
    res.setHeader('x-request-id', requestId)
    let refusal: (() => Promise<void>) | undefined
    try {
      // Health answers everyone (load balancers, container health checks): it tells nothing.
      if (url.pathname === '/api/health') {
        if (req.method !== 'GET') throw methodNotAllowed(req.method ?? '', url.pathname, ['GET'])
        sendJson(res, 200, { status: 'ok' })
        return true
      }
      const caller = await authenticate(req, {
        bootstrapToken: deps.config.managerApiToken,
        tokens: deps.store,
      })
      const { route, params } = match(req.method ?? 'GET', url.pathname)
      const ctx: ApiContext = {
        req,
        res,
        url,
        caller,
        requestId,
        sourceIp: req.socket.remoteAddress ?? null,
        deps,
      }
      if (route.audits !== undefined) {
        const action = route.audits
        const repo = url.searchParams.get('repo')
        refusal = () =>
          auditApi(ctx, {
            action,
            subject: url.pathname,
            // What the request named, so the refusal shows up with that repository's records.
            target: { repo: repo !== null && REPO_NAME.test(repo) ? repo : null },
            result: 'denied',
            details: { method: route.method, path: url.pathname },
          })
      }
      requireRole(caller, route.action)
      await route.handle(ctx, params)
    } catch (error) {
      if (error instanceof ApiError) {
        // A refused change is worth knowing about (who tried what); a refused read is not.
        if (error.status === 403 && refusal) await refusal().catch(() => undefined)
        sendError(res, error)
      } else {
        deps.log.error(
          { err: error, path: url.pathname, request: requestId },
          'manager API request failed',
        )
        sendError(
          res,
          new ApiError(
            500,
            'internal_error',
            'DevSys failed to handle the request; see the server log',
          ),
        )
      }
    }
    return true
  }
}

/** The route for `method path`, or 404 (no such path) / 405 (path known, method not). */
function match(method: string, path: string): { route: Route; params: string[] } {
  const allowed: string[] = []
  for (const route of ROUTES) {
    const found = route.path.exec(path)
    if (!found) continue
    if (route.method === method) return { route, params: found.slice(1) as string[] }
    allowed.push(route.method)
  }
  if (allowed.length > 0) throw methodNotAllowed(method, path, allowed)
  throw new ApiError(404, 'not_found', `no API route ${method} ${path}`)
}

/** A percent-encoded path segment, decoded; malformed encoding is the caller's error (400). */
function decodeSegment(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '')
  } catch {
    throw new ApiError(
      400,
      'invalid_path_encoding',
      `the path segment ${JSON.stringify(segment)} is not valid percent-encoding (UTF-8); encode task ids with encodeURIComponent`,
    )
  }
}

function methodNotAllowed(method: string, path: string, allowed: string[]): ApiError {
  return new ApiError(
    405,
    'method_not_allowed',
    `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`,
  )
}
