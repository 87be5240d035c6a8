import type { IncomingMessage } from 'node:http'

export type BoundedBody =
  | { ok: true; body: Buffer }
  | { ok: false; reason: 'too-large' | 'timeout' | 'aborted'; bytes: number }

/**
 * Reads a request body into memory, giving up as soon as it passes `maxBytes` or has not ended
 * `timeoutMs` after the call. Chunks read before giving up are dropped and the request is
 * paused, so a body that never ends costs at most `maxBytes` of memory and no further reading.
 */
export function readBoundedBody(
  req: IncomingMessage,
  opts: { maxBytes: number; timeoutMs: number },
): Promise<BoundedBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let bytes = 0
    let settled = false
    const settle = (result: BoundedBody): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort)
      if (!result.ok) {
        chunks.length = 0
        req.pause()
      }
      resolve(result)
    }
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length
      if (bytes > opts.maxBytes) settle({ ok: false, reason: 'too-large', bytes })
      else chunks.push(chunk)
    }
    const onEnd = (): void => settle({ ok: true, body: Buffer.concat(chunks, bytes) })
    // 'close' before 'end' means the client went away mid-body.
    const onAbort = (): void => settle({ ok: false, reason: 'aborted', bytes })
    const timer = setTimeout(() => settle({ ok: false, reason: 'timeout', bytes }), opts.timeoutMs)
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort)
  })
}
