/** An enqueue waiting for its batch: what it touches, and how to answer it. */
export interface LaneItem {
  job: { key: string }
  delivery: { id: string } | undefined
}

interface Batch {
  keys: Set<string>
  deliveries: Set<string>
  done: Promise<void>
}

/**
 * Group commit over several connections: the enqueues of one event-loop turn form a batch (one
 * transaction, `run`), and up to `lanes` batches run at once. A batch waits for every earlier
 * batch that shares a key or a delivery id with it, so the enqueues of one key, and the
 * duplicates of one delivery, still commit in the order they were made; batches with nothing in
 * common commit side by side instead of one round trip after another. `run` must settle every
 * item itself and never reject.
 */
export function enqueueLanes<T extends LaneItem>(
  lanes: number,
  run: (batch: T[]) => Promise<void>,
) {
  let pending: T[] = []
  const inFlight = new Set<Batch>()
  const waiting: (() => void)[] = []
  let running = 0
  const acquire = () =>
    new Promise<void>((resolve) => {
      if (running < lanes) {
        running++
        resolve()
      } else {
        waiting.push(() => {
          running++
          resolve()
        })
      }
    })
  const release = () => {
    running--
    waiting.shift()?.()
  }
  const start = () => {
    const batch = pending
    pending = []
    const keys = new Set(batch.map((item) => item.job.key))
    const deliveries = new Set(batch.flatMap((item) => (item.delivery ? [item.delivery.id] : [])))
    const earlier = [...inFlight]
      .filter(
        (b) =>
          [...keys].some((k) => b.keys.has(k)) || [...deliveries].some((d) => b.deliveries.has(d)),
      )
      .map((b) => b.done)
    const entry: Batch = { keys, deliveries, done: Promise.resolve() }
    entry.done = Promise.all(earlier)
      .then(acquire)
      .then(() => run(batch).finally(release))
      .catch(() => undefined)
      .finally(() => inFlight.delete(entry))
    inFlight.add(entry)
  }
  return {
    add(item: T): void {
      pending.push(item)
      if (pending.length === 1) setImmediate(start)
    },
    /** Resolves when every batch added so far has committed (or failed). */
    async idle(): Promise<void> {
      while (pending.length > 0 || inFlight.size > 0) {
        if (pending.length > 0) await new Promise<void>((resolve) => setImmediate(resolve))
        await Promise.all([...inFlight].map((b) => b.done))
      }
    },
  }
}
