import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { DashboardDeps } from './dashboard-deps.js'

export interface LiveUpdates {
  /** Answers `GET /dashboard/events`: a Server-Sent Events stream of `change` events. */
  subscribe(req: IncomingMessage, res: ServerResponse): void
  /** Ends every stream (the server is stopping). */
  close(): void
}

/**
 * A digest of what the dashboard shows that changes: the newest deploys and their states,
 * the deploy locks, and how many jobs of each kind are queued or running.
 */
export async function dashboardFingerprint(
  deps: Pick<DashboardDeps, 'store' | 'queue'>,
): Promise<string> {
  const [deploys, locks, jobs] = await Promise.all([
    deps.store.listDeployments({ limit: 50 }),
    deps.store.listDeployLocks(),
    deps.queue.countJobs(),
  ])
  const hash = createHash('sha256')
  for (const d of deploys) hash.update(`d${d.id}:${d.state}:${d.bad}:${d.finishedAt}\n`)
  for (const l of locks) hash.update(`l${l.env}:${l.owner}:${l.expiresAt}\n`)
  // What the queue page shows of the jobs: how many of each kind are in each state.
  for (const j of jobs) hash.update(`j${j.kind}:${j.state}:${j.count}:${j.oldestDueAt}\n`)
  return hash.digest('hex')
}

/**
 * Live updates over Server-Sent Events. While anyone is connected, one poller per process
 * reads the store every `intervalMs` and tells every stream when what it shows changed; the
 * pages then fetch themselves again, with their own sign-in, so an event carries no data a
 * person may not see. Each stream gets a comment line every 15 s so proxies keep it open.
 */
export function createLiveUpdates(opts: {
  fingerprint: () => Promise<string>
  log: Logger
  intervalMs?: number
}): LiveUpdates {
  const intervalMs = opts.intervalMs ?? 1000
  const streams = new Set<ServerResponse>()
  let timer: NodeJS.Timeout | undefined
  let last: string | undefined
  let ticks = 0
  let polling = false

  const end = (res: ServerResponse) => {
    streams.delete(res)
    if (!res.writableEnded) res.end()
    if (streams.size === 0 && timer !== undefined) {
      clearInterval(timer)
      timer = undefined
      last = undefined
    }
  }
  const tick = async () => {
    if (polling) return
    polling = true
    try {
      ticks += 1
      // A stopping server (no longer listening) must not wait for these streams to end.
      for (const res of streams) if (!serverListening(res)) end(res)
      const now = await opts.fingerprint()
      const changed = last !== undefined && now !== last
      last = now
      for (const res of streams) {
        if (changed) res.write(`event: change\ndata: ${ticks}\n\n`)
        else if (ticks % 15 === 0) res.write(': keep-alive\n\n')
      }
    } catch (error) {
      opts.log.warn({ err: error }, 'Dashboard: live update poll failed; trying again')
    } finally {
      polling = false
    }
  }
  return {
    subscribe(req, res) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      })
      res.write('retry: 3000\n\n')
      streams.add(res)
      req.on('close', () => end(res))
      if (timer === undefined) {
        timer = setInterval(() => void tick(), intervalMs)
        timer.unref()
        void tick()
      }
    },
    close() {
      for (const res of streams) end(res)
    },
  }
}

/** Whether the HTTP server `res` belongs to still accepts connections (node sets socket.server). */
function serverListening(res: ServerResponse): boolean {
  const socket = res.socket as
    | (ServerResponse['socket'] & { server?: { listening?: boolean } })
    | null
  return socket?.server?.listening !== false
}
