import { once } from 'node:events'
import { chmod } from 'node:fs/promises'
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'

/** The server's model endpoint (AGENT_BASE_URL, AGENT_API_KEY). */
export interface ModelEndpoint {
  /** OpenAI-compatible base URL, e.g. https://api.openai.com/v1 */
  baseUrl: string
  apiKey?: string
}

export interface ModelProxy {
  /** The path the agent's base URL must use in front of its requests, e.g. /v1 */
  basePath: string
  /** TCP port, when listening on loopback (no sandbox); undefined on a Unix socket. */
  port?: number
  /** Requests forwarded and refused, for the log. */
  stats: { forwarded: number; refused: number }
  /**
   * When the oldest request that got no answer from the endpoint was sent: still waiting, or
   * given up by the agent (or its end) before any answer came; undefined if none.
   */
  oldestUnanswered(): number | undefined
  close(): Promise<void>
}

/** Request headers not passed on: hop-by-hop ones, and any credentials the agent sends. */
const DROPPED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'authorization',
  'api-key',
  'x-api-key',
  'cookie',
])

/**
 * The model calls an agent makes, and nothing else the key could do (files, fine-tuning, batches,
 * admin endpoints): POST chat/completions and responses, GET models, under the base path.
 */
function allowed(method: string, url: string, basePath: string): boolean {
  const path = url.split('?')[0] ?? ''
  if (path.includes('/../') || path.includes('/./') || path.includes('%')) return false
  if (method === 'POST') {
    return path === `${basePath}/chat/completions` || path === `${basePath}/responses`
  }
  if (method === 'GET')
    return path === `${basePath}/models` || path.startsWith(`${basePath}/models/`)
  return false
}

/**
 * The agent's only way out of its sandbox: an HTTP server on a Unix socket (or, without the
 * sandbox, on a loopback port) that forwards requests under the endpoint's path to the
 * endpoint's origin and nowhere else, adding `Authorization: Bearer <key>`. The agent is given a
 * dummy key; the real one never enters the sandbox. Anything but a model call gets 403.
 */
export async function serveModelProxy(
  endpoint: ModelEndpoint,
  listen: { socketPath: string } | { loopback: true },
): Promise<ModelProxy> {
  const target = new URL(endpoint.baseUrl)
  const basePath = target.pathname.replace(/\/+$/, '')
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest
  const stats = { forwarded: 0, refused: 0 }
  const unanswered = new Set<number>()
  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    if (!allowed(req.method ?? '', path, basePath)) {
      stats.refused += 1
      res.writeHead(403, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          error: {
            message: `DevSys forwards only model calls to the model endpoint: POST ${basePath}/chat/completions, POST ${basePath}/responses and GET ${basePath}/models`,
            type: 'devsys_proxy',
          },
        }),
      )
      req.resume()
      return
    }
    stats.forwarded += 1
    const sent = Date.now()
    let answered = false
    unanswered.add(sent)
    const headers: IncomingHttpHeaders = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (!DROPPED.has(name)) headers[name] = value
    }
    if (endpoint.apiKey !== undefined) headers.authorization = `Bearer ${endpoint.apiKey}`
    const upstream = send(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path,
        headers,
      },
      (answer) => {
        answered = true
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      res.writeHead(502, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          error: {
            message: `DevSys could not reach the model endpoint ${target.origin} (${error.code ?? error.message})`,
            type: 'devsys_proxy',
          },
        }),
      )
    })
    res.on('close', () => {
      if (answered) unanswered.delete(sent)
      upstream.destroy()
    })
    req.pipe(upstream)
  })
  if ('socketPath' in listen) {
    server.listen(listen.socketPath)
    await once(server, 'listening')
    // The sandbox user connects to it.
    await chmod(listen.socketPath, 0o666)
  } else {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
  }
  const address = server.address()
  return {
    basePath,
    ...(typeof address === 'object' && address !== null
      ? { port: (address as AddressInfo).port }
      : {}),
    stats,
    oldestUnanswered: () => (unanswered.size === 0 ? undefined : Math.min(...unanswered)),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
