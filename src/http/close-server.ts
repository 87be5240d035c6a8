import type { Server } from 'node:http'
import type { Logger } from 'pino'

/**
 * Stops `server` gracefully: no new connections; requests in flight are answered; keep-alive
 * connections are closed as soon as they are idle (a client holding one open would otherwise
 * keep the server up); whatever is still open after `graceMs` is cut.
 */
export async function closeServer(
  server: Server,
  opts: { graceMs: number; log: Logger },
): Promise<void> {
  if (!server.listening) return
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const idle = setInterval(() => server.closeIdleConnections(), 50)
  const cut = setTimeout(() => {
    opts.log.warn(
      { graceMs: opts.graceMs },
      'Requests still open after the grace period; closing them',
    )
    server.closeAllConnections()
  }, opts.graceMs)
  try {
    await closed
  } finally {
    clearInterval(idle)
    clearTimeout(cut)
  }
}
