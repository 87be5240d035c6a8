/**
 * Runs sends per key one at a time, each starting at least `intervalMs` after the previous one
 * ended, in the order they asked (Slack accepts about one message a second per incoming
 * webhook). Spacing from the end, not the start, keeps arrivals apart however long a request
 * takes. Per process.
 */
export function createPacer(intervalMs: number, now: () => number = Date.now) {
  const tails = new Map<string, Promise<unknown>>()
  const readyAt = new Map<string, number>()
  return {
    /** Runs `send` in `key`'s turn; `holdOffMs` of its result delays the next turn further. */
    run<T>(key: string, send: () => Promise<T>, holdOffMs?: (result: T) => number): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve()
      const mine = previous.then(async () => {
        const wait = (readyAt.get(key) ?? 0) - now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        try {
          const result = await send()
          readyAt.set(key, now() + Math.max(intervalMs, holdOffMs?.(result) ?? 0))
          return result
        } catch (error) {
          readyAt.set(key, now() + intervalMs)
          throw error
        }
      })
      // The next send waits for this one however it ends.
      tails.set(
        key,
        mine.catch(() => undefined),
      )
      return mine
    },
  }
}
