import { afterEach, beforeEach } from 'vitest'
import { createQueue, type Queue, type QueueOptions } from '../../src/jobs/queue.js'
import type { JobHandler } from '../../src/queue/types.js'
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js'
import { silentLog, tempDir } from '../store/support.js'

/** A real SQLite store in a temp dir per test, and queues over it that are stopped afterwards. */
export function useQueueFixture(): {
  store(): SqliteStore
  dir(): string
  makeQueue(handlers: JobHandler[], opts?: Partial<QueueOptions>): Queue
} {
  let tmp: ReturnType<typeof tempDir>
  let store: SqliteStore
  let queues: Queue[] = []
  beforeEach(() => {
    tmp = tempDir('devsys-queue-')
    store = openSqliteStore({ dataDir: tmp.dir })
    queues = []
  })
  afterEach(async () => {
    for (const q of queues) await q.stop()
    await store.close()
    tmp.remove()
  })
  return {
    store: () => store,
    dir: () => tmp.dir,
    makeQueue(handlers, opts = {}) {
      // Short timings so retries and polls happen within a test's patience.
      const queue = createQueue({
        store,
        handlers,
        log: silentLog,
        pollMs: 20,
        leaseMs: 1000,
        backoff: { baseMs: 10, maxMs: 40 },
        graceMs: 200,
        ...opts,
      })
      queues.push(queue)
      return queue
    },
  }
}

export const done = (summary: string) => ({ status: 'done' as const, summary })
