import type { Logger } from 'pino'
import { createInProcessQueue, type InProcessQueueOptions } from './in-process-queue.js'
import { openPgBossJobStore, type PgBossJobStoreOptions } from './pg-boss-job-store.js'
import type { Queue } from './queue.js'

export type PgBossQueueOptions = Omit<InProcessQueueOptions, 'jobs'> &
  Omit<PgBossJobStoreOptions, 'log' | 'now'> & {
    log: Logger
    /** How often to archive finished jobs and drop old archived ones (default 10 minutes). */
    maintenanceMs?: number
  }

/**
 * The distributed queue: its state is pg-boss's, in the DATABASE_URL database (schema
 * devsys_queue), so every DevSys process on that database shares one queue. Each process runs
 * the same worker loop as the in-process queue (claims, leases renewed while a job runs,
 * retries with backoff, recovery of dead workers' jobs, onFailed once, schedules) over
 * pg-boss's tables; see src/queue/pg-boss-sql.ts for how each semantic maps onto pg-boss.
 */
export function createPgBossQueue(opts: PgBossQueueOptions): Queue {
  const { url, schema, queueName, maxConnections, maintenanceMs, ...loop } = opts
  const jobs = openPgBossJobStore({
    url,
    log: opts.log,
    ...(schema === undefined ? {} : { schema }),
    ...(queueName === undefined ? {} : { queueName }),
    ...(maxConnections === undefined ? {} : { maxConnections }),
    ...(opts.now === undefined ? {} : { now: opts.now }),
  })
  const queue = createInProcessQueue({ ...loop, jobs })
  const maintain = () =>
    jobs
      .maintain()
      .catch((err: unknown) => opts.log.warn({ err }, 'Archiving finished jobs failed'))
  let timer: NodeJS.Timeout | undefined
  return {
    ...queue,
    start() {
      queue.start()
      timer ??= setInterval(maintain, maintenanceMs ?? 600_000)
      timer.unref()
    },
    async stop() {
      clearInterval(timer)
      timer = undefined
      await queue.stop()
    },
    async close() {
      clearInterval(timer)
      timer = undefined
      await queue.close()
    },
  }
}
