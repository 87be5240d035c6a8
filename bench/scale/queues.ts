/** The DevSys queues the benchmarks drive, built by createQueue as src/boot.ts builds them. */
import type { Logger } from 'pino'
import { createQueue } from '../../src/queue/create-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import type { JobHandler } from '../../src/queue/types.js'

/**
 * pg-boss in the database at `url` (DATABASE_URL set), or in process over SQLite under
 * `dataDir`; DevSys's defaults otherwise (WORKER_CONCURRENCY 2, JOB_LEASE_MS 30000).
 */
export function benchQueue(opts: {
  url?: string
  dataDir: string
  handlers: JobHandler[]
  log: Logger
}): Queue {
  return createQueue(
    {
      dataDir: opts.dataDir,
      storeSync: 'NORMAL',
      workerConcurrency: 2,
      jobLeaseMs: 30_000,
      jobMaxAttempts: 5,
      shutdownGraceMs: 5_000,
      ...(opts.url === undefined ? {} : { databaseUrl: opts.url }),
    },
    { handlers: opts.handlers, log: opts.log },
  )
}
