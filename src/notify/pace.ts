/**
 * Spaces calls per key at least `intervalMs` apart, in the order they asked (Slack accepts
 * about one message a second per incoming webhook). Per process.
 */
export function createPacer(intervalMs: number, now: () => number = Date.now) {
  const next = new Map<string, Promise<void>>()
  const readyAt = new Map<string, number>()
  return {
    /** Resolves when the caller may send to `key`; the next caller waits `intervalMs` more. */
    turn(key: string): Promise<void> {
      const previous = next.get(key) ?? Promise.resolve()
      const mine = previous.then(async () => {
        const wait = (readyAt.get(key) ?? 0) - now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        readyAt.set(key, now() + intervalMs)
      })
      next.set(key, mine)
      return mine
    },
    /** Holds `key` for `ms` more (a 429's Retry-After). */
    holdOff(key: string, ms: number): void {
      readyAt.set(key, Math.max(readyAt.get(key) ?? 0, now() + ms))
    },
  }
}
