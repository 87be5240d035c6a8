import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { requireRole, requireUnrestricted } from '../api/access.js'
import { authenticate } from '../api/authenticate.js'
import { ApiError, sendError } from '../api/http.js'
import type { ApiTokenStore } from '../store/store.js'
import type { Metrics } from './metrics.js'

export const METRICS_PATH = '/metrics'

/**
 * Answers `GET /metrics` with Prometheus's text format, to callers holding the manager API
 * token (`Authorization: Bearer <token>`, as Prometheus's `authorization` scrape setting
 * sends it), or a named token of at least the viewer role for every repository and environment
 * (`tokens`): the figures name them all. Returns false for every other path, so it can stand
 * in front of any server (receiver or worker).
 */
export function serveMetrics(
  metrics: Metrics,
  opts: {
    token: string | undefined
    tokens?: Pick<ApiTokenStore, 'findApiTokenByHash' | 'touchApiToken'>
    log: Logger
  },
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    if (pathOf(req) !== METRICS_PATH) return false
    try {
      const caller = await authenticate(req, {
        bootstrapToken: opts.token,
        ...(opts.tokens ? { tokens: opts.tokens } : {}),
      })
      requireRole(caller, 'read')
      requireUnrestricted(caller, '/metrics')
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new ApiError(
          405,
          'method_not_allowed',
          `${req.method} is not allowed on /metrics; use GET`,
        )
      }
      const { contentType, body } = await metrics.render()
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch (error) {
      if (error instanceof ApiError) {
        sendError(res, error)
      } else {
        opts.log.error({ err: error }, 'collecting /metrics failed')
        sendError(
          res,
          new ApiError(
            500,
            'internal_error',
            'DevSys failed to collect its metrics; see the server log',
          ),
        )
      }
    }
    return true
  }
}

/**
 * Times every answer to a webhook path (`paths`), from the request's arrival to the end of the
 * response, labelled by `X-GitHub-Event` and status. It answers nothing itself (returns false).
 */
export function timeWebhookAnswers(
  metrics: Metrics,
  paths: readonly string[],
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = pathOf(req)
    if (req.method !== 'POST' || path === undefined || !paths.includes(path)) return false
    const started = process.hrtime.bigint()
    const header = req.headers['x-github-event']
    const event = typeof header === 'string' ? header : 'none'
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      metrics.webhookAnswered(event, res.statusCode, seconds)
    })
    return false
  }
}

/** The request's path, or undefined when its target is not a URL (left to the server to refuse). */
function pathOf(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://devsys.invalid').pathname
  } catch {
    return undefined
  }
}
