export interface Backoff {
  baseMs: number
  maxMs: number
}

/**
 * Delay before retry number `attempt` (1 = after the first failure): exponential, capped, with
 * "equal jitter" (half fixed, half random) so jobs that failed together, say when GitHub was
 * down, do not all come back in the same instant.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30)
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}
