import type { ServerResponse } from 'node:http'
import type { RequestGuard } from './guard-requests.js'
import { pathnameOf } from './limit-request-bodies.js'

/**
 * A guard that answers nothing itself: on `paths` it adds `Retry-After: <seconds>` to a 503
 * answer written later (Probot's webhook middleware writes its own headers, without one), so a
 * client told "unavailable" is also told when to try again.
 */
export function retryAfterUnavailable(opts: {
  paths: readonly string[]
  seconds: number
}): RequestGuard {
  const paths = new Set(opts.paths.map((path) => pathnameOf(path)))
  return async (req, res) => {
    const path = pathnameOf(req.url ?? '/')
    if (path === undefined || !paths.has(path)) return false
    const writeHead = res.writeHead
    res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
      if (status === 503 && !this.hasHeader('retry-after')) {
        this.setHeader('retry-after', String(opts.seconds))
      }
      return (writeHead as (...args: unknown[]) => ServerResponse).call(this, status, ...rest)
    } as ServerResponse['writeHead']
    return false
  }
}
