import { afterEach, beforeEach } from 'vitest'
import {
  createInProcessQueue,
  type InProcessQueueOptions,
} from '../../src/queue/in-process-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore, type SqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import type { JobHandler } from '../../src/queue/types.js'
import { silentLog, tempDir } from '../store/support.js'

/** The in-process queue's SQLite state in a temp dir per test, and queues over it, stopped afterwards. */
export function useQueueFixture(): {
  jobs(): SqliteJobStore
  dir(): string
  makeQueue(handlers: JobHandler[], opts?: Partial<InProcessQueueOptions>): Queue
} {
  let tmp: ReturnType<typeof tempDir>
  let jobs: SqliteJobStore
  let queues: Queue[] = []
  beforeEach(() => {
    tmp = tempDir('devsys-queue-')
    jobs = openSqliteJobStore({ dataDir: tmp.dir })
    queues = []
  })
  afterEach(async () => {
    for (const q of queues) await q.stop()
    await jobs.close()
    tmp.remove()
  })
  return {
    jobs: () => jobs,
    dir: () => tmp.dir,
    makeQueue(handlers, opts = {}) {
      const queue = createInProcessQueue({ jobs, ...inProcessTimings(), handlers, ...opts })
      queues.push(queue)
      return queue
    },
  }
}

/** Short timings so retries and polls happen within a test's patience. */
export function inProcessTimings() {
  return {
    log: silentLog,
    pollMs: 20,
    leaseMs: 1000,
    backoff: { baseMs: 10, maxMs: 40 },
    graceMs: 200,
  }
}

export const done = (summary: string) => ({ status: 'done' as const, summary })
