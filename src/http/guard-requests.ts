import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from 'pino'

/** Looks at a request before Probot does; true when it has answered it (nothing else runs). */
export type RequestGuard = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/**
 * Puts `guards` in front of every request of Probot's HTTP server, and bounds how long a client
 * may take to send a request. Probot's Server runs its webhook middleware before any handler an
 * app adds, so a handler cannot refuse a body before Probot reads and hashes it; the guards take
 * the place of the server's request listener instead and call it only when none has answered.
 * Call this right after `server.start()` resolves: no request is dispatched in between.
 */
export function guardRequests(
  server: Server,
  guards: readonly RequestGuard[],
  opts: { requestTimeoutMs: number; log: Logger },
): void {
  const listeners = server.listeners('request') as RequestListener[]
  if (listeners.length === 0) {
    throw new Error(
      "Probot's HTTP server has no request listener to guard; check the probot version",
    )
  }
  server.removeAllListeners('request')
  // Node answers 408 to a request whose headers and body take longer than this (checked every
  // 30 s); the body guards apply the same time limit to the bodies they read, to the millisecond.
  server.requestTimeout = opts.requestTimeoutMs
  server.headersTimeout = Math.min(server.headersTimeout, opts.requestTimeoutMs)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      try {
        for (const guard of guards) if (await guard(req, res)) return
      } catch (error) {
        opts.log.error({ err: error }, 'a request guard failed')
        if (!res.headersSent) res.writeHead(500, { connection: 'close' }).end()
        return
      }
      for (const listener of listeners) listener.call(server, req, res)
    })()
  })
}
