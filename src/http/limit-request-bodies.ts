import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { formatBytes } from '../manifest/load-document.js'
import type { RequestGuard } from './guard-requests.js'
import { readBoundedBody } from './read-bounded-body.js'

/**
 * Reads the body of POST requests to `paths` before the handler behind does, refusing one
 * declared (Content-Length) or streamed over `maxBytes` with 413 and one still arriving after
 * `timeoutMs` with 408. A body that fits is handed on already read: Probot's webhook middleware
 * and setup page take `rawBody` instead of reading the stream, so they never hash or parse more
 * than the limit. Paths are matched as Probot's webhook middleware matches them.
 */
export function limitRequestBodies(opts: {
  paths: readonly string[]
  maxBytes: number
  timeoutMs: number
  log: Logger
}): RequestGuard {
  const paths = new Set(opts.paths.map((path) => pathnameOf(path)))
  return async (req, res) => {
    const path = pathnameOf(req.url ?? '/')
    if (req.method !== 'POST' || path === undefined || !paths.has(path)) return false
    const declared = Number(req.headers['content-length'])
    if (declared > opts.maxBytes) return refuse(req, res, 413, declared, opts)
    const read = await readBoundedBody(req, opts)
    if (read.ok) {
      Object.assign(req, { body: {}, rawBody: read.body })
      return false
    }
    // A client that went away gets no answer; the others are told what was wrong.
    if (read.reason === 'aborted') return true
    return refuse(req, res, read.reason === 'too-large' ? 413 : 408, read.bytes, opts)
  }
}

function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: 408 | 413,
  bytes: number,
  opts: { maxBytes: number; timeoutMs: number; log: Logger },
): true {
  const message =
    status === 413
      ? `request body is over ${formatBytes(opts.maxBytes)} (GitHub sends at most 25 MB); it was not read\n`
      : `request body did not arrive within ${opts.timeoutMs} ms (REQUEST_TIMEOUT_MS); send it at once\n`
  // Only the request line and sizes are logged: never a byte of the body.
  opts.log.warn(
    {
      method: req.method,
      path: pathnameOf(req.url ?? '/'),
      status,
      bytes,
      maxBytes: opts.maxBytes,
    },
    status === 413 ? 'refused an oversized request body' : 'refused a request body that stalled',
  )
  // Connection: close makes Node close the socket once the answer is out, so the rest of the
  // body is never read.
  res
    .writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' })
    .end(message)
  return true
}

/** The path as @octokit/webhooks compares it: trailing slashes dropped, then URL-normalized. */
/** The path of a request URL without trailing slashes; undefined when it cannot be parsed. */
export function pathnameOf(url: string): string | undefined {
  const trimmed = url.replace(/\/+$/, '')
  try {
    return new URL(trimmed === '' ? '/' : trimmed, 'http://localhost').pathname
  } catch {
    // Probot answers an unparsable URL itself, without reading the body.
    return undefined
  }
}
