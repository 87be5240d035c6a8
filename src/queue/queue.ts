/**
 * The queue port: durable jobs, one running job per key, leases, retries, schedules. The queue
 * owns all queue state (jobs, webhook deliveries, schedules); jobs see only `enqueue` and their
 * `JobContext`. Implemented in process over a job store in SQLite (src/queue/in-process-queue.ts)
 * and, with DATABASE_URL, over pg-boss in PostgreSQL (src/queue/pg-boss-queue.ts), chosen in
 * src/queue/create-queue.ts and both checked by test/contracts/queue.test.ts. The shape is
 * pg-boss's: the delivery id names the job (a UUID v5 of it there), the key is its singleton
 * key, a repeating schedule one deduplicated send per slot.
 */

export type JobState = 'queued' | 'running' | 'done' | 'failed'

/** A job as the queue reports it. */
export interface Job {
  /** Opaque: compare and store it as a string, never parse or order by it. */
  id: string
  kind: string
  /** Jobs with the same key never run concurrently, and a queued job with the same key is replaced. */
  key: string
  payload: unknown
  state: JobState
  /** Attempts started so far, this one included while running. */
  attempts: number
  maxAttempts: number
  runAt: string
  /** The worker running the job (kept once finished); null while queued. */
  lockedBy: string | null
  lockedUntil: string | null
  lastError: string | null
  outcome: unknown
  /** The webhook delivery (X-GitHub-Delivery) or schedule slot that enqueued the job. */
  deliveryId: string | null
  createdAt: string
  updatedAt: string
}

export interface NewJob {
  kind: string
  key: string
  payload: unknown
  maxAttempts?: number
  /** Delay before the job may run, in ms (default 0). */
  delayMs?: number
}

/**
 * What enqueued a job, recorded once: a second enqueue with the same id writes nothing. For a
 * webhook it is GitHub's `X-GitHub-Delivery` id, so a redelivered webhook starts no job.
 */
export interface Delivery {
  id: string
  event: string
}

export interface EnqueueOptions {
  /** What enqueued the job (a webhook delivery), recorded once with it: see `Delivery`. */
  delivery?: Delivery
}

export type EnqueueResult =
  | { kind: 'enqueued'; job: Job }
  /** A queued (not yet running) job with the same key had its payload replaced. */
  | { kind: 'coalesced'; job: Job }
  /** The delivery id was already recorded: nothing was written. */
  | { kind: 'duplicate-delivery'; deliveryId: string }

export interface JobFilter {
  state?: JobState
  kind?: string
  /** Only the `newest` most recently enqueued, newest first (default: all, oldest first). */
  newest?: number
}

/**
 * How many jobs of one kind are in one state now, and for queued ones since when the oldest
 * has been due (null when none is due yet: delayed and backing-off jobs are not waiting).
 */
export interface JobCount {
  kind: string
  state: Exclude<JobState, 'done'>
  count: number
  oldestDueAt: string | null
}

/**
 * A job run later or again and again. Repeating: at most one run per `everyMs` slot (slots are
 * counted from the epoch) however many processes share the queue state and register the same
 * schedule; slots that pass while no process runs are skipped, not caught up. Delayed: one run
 * after `delayMs` per call.
 */
export type Schedule = { name: string; job: Omit<NewJob, 'delayMs'> } & (
  | { everyMs: number }
  | { delayMs: number }
)

export interface Queue {
  /**
   * Stores the job atomically with its delivery: a delivery id already recorded writes nothing;
   * a queued job with the same key is coalesced (newest payload); wakes a worker at once.
   */
  enqueue(job: NewJob, options?: EnqueueOptions): Promise<EnqueueResult>
  /** Registers a delayed or repeating job (see `Schedule`); a name registered again replaces it. */
  schedule(schedule: Schedule): Promise<void>
  /**
   * Recovers jobs of dead workers, then claims and runs jobs until stop(). A queue built to run
   * only its handlers' kinds (createQueue's ownKindsOnly: a worker of some DEVSYS_QUEUES)
   * claims, recovers and drains only those, leaving other kinds queued for other workers.
   */
  start(): void
  /**
   * Claims nothing more and waits for running jobs; after the grace period aborts their signals,
   * and a job that then ends is handed back (queued again at once), its attempt kept.
   */
  stop(): Promise<void>
  /**
   * Resolves when no job is running, due, or waiting to be retried; jobs enqueued with a delay
   * that has not passed are not waited for. Needs start(). For tests and scripts.
   */
  drain(): Promise<void>
  /** Retries or fails running jobs whose worker is gone; returns how many it changed. */
  recover(): Promise<number>
  getJob(id: string): Promise<Job | undefined>
  /** Jobs matching every field of the filter, oldest first (or the newest N, newest first). */
  listJobs(filter?: JobFilter): Promise<Job[]>
  /** Queued, running and failed jobs counted per kind and state, by kind (one query, no rows). */
  countJobs(): Promise<JobCount[]>
  hasDelivery(id: string): Promise<boolean>
  /**
   * Resolves once the queue's state is usable (pg-boss: its schema installed or migrated);
   * rejects saying what to check. Boot awaits it, so a queue that cannot work fails the start.
   */
  ready(): Promise<void>
  /** Stops the queue and releases its state (database connection); it cannot start again. */
  close(): Promise<void>
}

/** The queue's enqueue, as jobs and webhook handlers use it. */
export type Enqueue = Queue['enqueue']
