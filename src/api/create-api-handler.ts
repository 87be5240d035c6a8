import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppDeps } from '../app-deps.js'
import { authorize } from './authorize.js'
import { deployTask, listDeploys, listTaskDeploys, rollbackTask } from './deploys.js'
import { ApiError, sendError, sendJson } from './http.js'
import { listNotifications, testNotifications } from './notifications.js'
import { createTask, getLatestTests, getTask, listTasks, patchTask } from './tasks.js'

const TASK_PATH = /^\/api\/tasks\/([^/]+)$/
const LATEST_TESTS_PATH = /^\/api\/tasks\/([^/]+)\/tests\/latest$/
const TASK_ACTION_PATH = /^\/api\/tasks\/([^/]+)\/(deploys|deploy|rollback)$/

/**
 * The manager HTTP API, served by the same process as the webhooks (a Probot `addHandler`).
 * Returns false for paths it does not own so Probot's other handlers can answer them.
 */
export function createApiHandler(deps: Pick<AppDeps, 'store' | 'config' | 'log' | 'queue'>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://devsys.invalid')
    if (url.pathname !== '/api' && !url.pathname.startsWith('/api/')) return false
    if (url.pathname.startsWith('/api/github/')) return false
    try {
      // Health answers everyone (load balancers, container health checks): it tells nothing.
      if (url.pathname !== '/api/health') authorize(req, deps.config.managerApiToken)
      await route(req, res, url, deps)
    } catch (error) {
      if (error instanceof ApiError) {
        sendError(
          res,
          error,
          error.status === 401 ? { 'www-authenticate': 'Bearer realm="devsys"' } : {},
        )
      } else {
        deps.log.error({ err: error, path: url.pathname }, 'manager API request failed')
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

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: Pick<AppDeps, 'store' | 'config' | 'queue' | 'log'>,
): Promise<void> {
  const method = req.method ?? 'GET'
  if (url.pathname === '/api/health') {
    if (method !== 'GET') throw methodNotAllowed(method, url.pathname, ['GET'])
    return sendJson(res, 200, { status: 'ok' })
  }
  if (url.pathname === '/api/tasks') {
    if (method === 'GET') return listTasks(res, url, deps)
    if (method === 'POST') return createTask(req, res, url, deps)
    throw methodNotAllowed(method, url.pathname, ['GET', 'POST'])
  }
  if (url.pathname === '/api/deploys') {
    if (method !== 'GET') throw methodNotAllowed(method, url.pathname, ['GET'])
    return listDeploys(res, url, deps)
  }
  if (url.pathname === '/api/notifications') {
    if (method !== 'GET') throw methodNotAllowed(method, url.pathname, ['GET'])
    return listNotifications(res, url, deps)
  }
  if (url.pathname === '/api/notifications/test') {
    if (method !== 'POST') throw methodNotAllowed(method, url.pathname, ['POST'])
    return testNotifications(req, res, deps)
  }
  const action = TASK_ACTION_PATH.exec(url.pathname)
  if (action?.[1] && action[2]) {
    const id = decodeSegment(action[1])
    if (action[2] === 'deploys') {
      if (method !== 'GET') throw methodNotAllowed(method, url.pathname, ['GET'])
      return listTaskDeploys(res, url, id, deps)
    }
    if (method !== 'POST') throw methodNotAllowed(method, url.pathname, ['POST'])
    return action[2] === 'deploy'
      ? deployTask(req, res, url, id, deps)
      : rollbackTask(req, res, url, id, deps)
  }
  const tests = LATEST_TESTS_PATH.exec(url.pathname)
  if (tests?.[1]) {
    if (method !== 'GET') throw methodNotAllowed(method, url.pathname, ['GET'])
    return getLatestTests(res, url, decodeSegment(tests[1]), deps)
  }
  const match = TASK_PATH.exec(url.pathname)
  if (match?.[1]) {
    const id = decodeSegment(match[1])
    if (method === 'GET') return getTask(res, url, id, deps)
    if (method === 'PATCH') return patchTask(req, res, url, id, deps)
    throw methodNotAllowed(method, url.pathname, ['GET', 'PATCH'])
  }
  throw new ApiError(404, 'not_found', `no API route ${method} ${url.pathname}`)
}

/** A percent-encoded path segment, decoded; malformed encoding is the caller's error (400). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
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
