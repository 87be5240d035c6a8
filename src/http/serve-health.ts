import { createServer, type Server } from 'node:http'
import type { Logger } from 'pino'
import type { Metrics } from '../metrics/metrics.js'
import { serveMetrics } from '../metrics/serve-metrics.js'
import type { ApiTokenStore } from '../store/store.js'

/**
 * A worker's whole HTTP surface: `GET /api/health` (the path receivers answer it on, so one
 * health check fits every role), `GET /metrics` with the manager API token when given `metrics`
 * (this process's job runs), 404 for everything else. Workers take no webhooks and serve no
 * manager API: what they do not serve cannot be attacked, and GitHub is never pointed at them.
 */
export async function serveHealth(opts: {
  port: number
  host: string
  role: string
  queues: readonly string[]
  metrics?: {
    metrics: Metrics
    token: string | undefined
    tokens?: Pick<ApiTokenStore, 'findApiTokenByHash' | 'touchApiToken'>
    log: Logger
  }
}): Promise<Server> {
  const body = JSON.stringify({ status: 'ok', role: opts.role, queues: opts.queues })
  const metrics = opts.metrics && serveMetrics(opts.metrics.metrics, opts.metrics)
  const server = createServer(async (req, res) => {
    if (metrics && (await metrics(req, res))) return
    const path = new URL(req.url ?? '/', 'http://devsys.invalid').pathname
    if (path === '/api/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(body)
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        error: 'not_found',
        message: `This DevSys process is a worker (DEVSYS_ROLE=${opts.role}): it serves only GET /api/health and /metrics. Send webhooks and API requests to a receiver.`,
      }),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: opts.port, host: opts.host }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}
