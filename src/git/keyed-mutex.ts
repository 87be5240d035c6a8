/** Serialises async work per key inside one process; different keys run in parallel. */
export interface KeyedMutex {
  /**
   * Runs `fn` once every earlier `run` with the same key has finished. When `signal` aborts while
   * waiting, rejects with the signal's reason and never runs `fn`; the queue order is kept.
   */
  run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>
  /** Keys with work running or waiting (0 when idle: no entries are kept for finished keys). */
  readonly size: number
}

export function createKeyedMutex(): KeyedMutex {
  // Each key maps to the promise that settles when its last queued holder is done.
  const tails = new Map<string, Promise<void>>()
  return {
    get size() {
      return tails.size
    },
    async run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve()
      let release = () => {}
      const mine = new Promise<void>((resolve) => {
        release = resolve
      })
      // The next holder waits for the previous one AND this one, so a waiter that gives up
      // (abort) never lets the next one in while the previous holder still runs.
      const tail = previous.then(() => mine)
      tails.set(key, tail)
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key)
      })
      try {
        await untilSettledOrAborted(previous, signal)
        return await fn()
      } finally {
        release()
      }
    },
  }
}

function untilSettledOrAborted(promise: Promise<void>, signal: AbortSignal | undefined) {
  if (!signal) return promise
  signal.throwIfAborted()
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
