import type { Logger } from 'pino'
import type { AppConfig } from '../config/load-env.js'
import { createInProcessQueue } from './in-process-queue.js'
import { createPgBossQueue } from './pg-boss-queue.js'
import type { Queue } from './queue.js'
import { openSqliteJobStore } from './sqlite-job-store.js'
import type { JobHandler } from './types.js'

/** The queue implementations DevSys has; a new one is a file and a case below. */
export type QueueKind = 'in-process' | 'pg-boss'

/** What the queue factory reads from the configuration. */
export type QueueConfig = Pick<
  AppConfig,
  | 'dataDir'
  | 'storeSync'
  | 'workerConcurrency'
  | 'jobLeaseMs'
  | 'jobMaxAttempts'
  | 'shutdownGraceMs'
  | 'databaseUrl'
>

/** Which queue the configuration asks for: pg-boss when DATABASE_URL is set, else in process. */
export function queueKind(config: QueueConfig): QueueKind {
  return config.databaseUrl === undefined ? 'in-process' : 'pg-boss'
}

/**
 * Builds the queue the configuration names: pg-boss in the DATABASE_URL database (shared by
 * every DevSys process on it), or in process with its state in the SQLite file under DATA_DIR;
 * both with WORKER_CONCURRENCY, JOB_LEASE_MS, JOB_MAX_ATTEMPTS, SHUTDOWN_GRACE_MS. Not started.
 */
export function createQueue(
  config: QueueConfig,
  deps: {
    handlers: JobHandler[]
    log: Logger
    /** Claim only the handlers' kinds, leaving others queued for other workers (see roles). */
    ownKindsOnly?: boolean
  },
): Queue {
  const kind = queueKind(config)
  const worker = {
    handlers: deps.handlers,
    log: deps.log,
    concurrency: config.workerConcurrency,
    leaseMs: config.jobLeaseMs,
    maxAttempts: config.jobMaxAttempts,
    graceMs: config.shutdownGraceMs,
    ownKindsOnly: deps.ownKindsOnly ?? false,
  }
  switch (kind) {
    case 'pg-boss':
      return createPgBossQueue({ url: config.databaseUrl as string, ...worker })
    case 'in-process':
      return createInProcessQueue({
        jobs: openSqliteJobStore({
          dataDir: config.dataDir,
          log: deps.log,
          synchronous: config.storeSync,
        }),
        ...worker,
      })
  }
}
