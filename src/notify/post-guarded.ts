import { guardUrl, type ResolveHost } from '../verify/guard-url.js'
import type { AllowList } from '../verify/parse-allowed-hosts.js'
import { type SendRequest, sendPinned } from '../verify/send-pinned.js'

/** Where destinations may be reached: public addresses, and the server's NOTIFY_ALLOWED_HOSTS. */
export interface DestinationReach {
  allowed: AllowList
  resolve?: ResolveHost
  /** Sends one request to a checked address (default: node:http pinned to it). */
  send?: SendRequest
}

export const NOTIFY_ALLOWED_WHERE =
  'notification destinations must be public, or listed in NOTIFY_ALLOWED_HOSTS'

export type PostResult =
  | { kind: 'answered'; status: number; retryAfterMs: number | undefined; text: string }
  /** Never sent: the guard refused the address (`transient`: the host did not resolve). */
  | { kind: 'refused'; reason: string; transient: boolean }
  | { kind: 'error'; reason: string }

/**
 * POSTs `body` to `url` after the SSRF guard checked every address it resolves to, connecting
 * to the checked address. Redirects are not followed. Never throws for the network: failures
 * are results, and their reasons name the host only (a URL path may hold a token).
 */
export async function postGuarded(
  url: string,
  request: {
    headers: Record<string, string>
    body: string
    timeoutMs: number
    signal?: AbortSignal
  },
  reach: DestinationReach,
): Promise<PostResult> {
  let target: URL
  try {
    target = new URL(url)
  } catch {
    return { kind: 'refused', reason: 'the destination URL is not a URL', transient: false }
  }
  const guard = await guardUrl(target, {
    trustedOrigins: [],
    allowed: reach.allowed,
    allowedWhere: NOTIFY_ALLOWED_WHERE,
    ...(reach.resolve ? { resolve: reach.resolve } : {}),
  })
  if (!guard.ok) return { kind: 'refused', reason: guard.reason, transient: guard.transient }
  const timeout = AbortSignal.timeout(request.timeoutMs)
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout
  try {
    const response = await (reach.send ?? sendPinned)(target, guard.pinned, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal,
    })
    const text = (await response.text()).slice(0, 500)
    return {
      kind: 'answered',
      status: response.status,
      retryAfterMs: retryAfter(response.headers.get('retry-after')),
      text,
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = timeout.aborted
      ? `no answer within ${request.timeoutMs} ms`
      : (code ?? (error as Error).name ?? 'error')
    return { kind: 'error', reason: `${target.host}: ${why}` }
  }
}

/** Retry-After in seconds (the form Slack and most receivers send), as milliseconds. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined
  const seconds = Number(value)
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 3600) * 1000 : undefined
}
