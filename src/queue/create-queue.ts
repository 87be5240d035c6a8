import type { Logger } from 'pino'
import type { AppConfig } from '../config/load-env.js'
import { createInProcessQueue } from './in-process-queue.js'
import type { Queue } from './queue.js'
import { openSqliteJobStore } from './sqlite-job-store.js'
import type { JobHandler } from './types.js'

/** The queue implementations DevSys has; a new one is a file and a case below. */
export type QueueKind = 'in-process'

/** What the queue factory reads from the configuration. */
export type QueueConfig = Pick<
  AppConfig,
  | 'dataDir'
  | 'storeSync'
  | 'workerConcurrency'
  | 'jobLeaseMs'
  | 'jobMaxAttempts'
  | 'shutdownGraceMs'
>

/** Which queue the configuration asks for (only the in-process one so far). */
export function queueKind(_config: QueueConfig): QueueKind {
  return 'in-process'
}

/**
 * Builds the queue the configuration names: in process, its state in the SQLite file under
 * DATA_DIR (WORKER_CONCURRENCY, JOB_LEASE_MS, JOB_MAX_ATTEMPTS, SHUTDOWN_GRACE_MS). Not started.
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
  switch (kind) {
    case 'in-process':
      return createInProcessQueue({
        jobs: openSqliteJobStore({
          dataDir: config.dataDir,
          log: deps.log,
          synchronous: config.storeSync,
        }),
        handlers: deps.handlers,
        ownKindsOnly: deps.ownKindsOnly ?? false,
        log: deps.log,
        concurrency: config.workerConcurrency,
        leaseMs: config.jobLeaseMs,
        maxAttempts: config.jobMaxAttempts,
        graceMs: config.shutdownGraceMs,
      })
  }
}
