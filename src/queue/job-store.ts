import type { Delivery, EnqueueResult, Job, JobCount, JobFilter, NewJob } from './queue.js'

/**
 * The queue's state under its worker loop: webhook deliveries and the jobs they start, written in
 * one transaction. Only the queue reaches it (src/queue/in-process-queue.ts); implemented by
 * SQLite (src/queue/sqlite-job-store.ts) and by pg-boss's tables in PostgreSQL
 * (src/queue/pg-boss-job-store.ts), checked by test/contracts/job-store.test.ts.
 */
export interface JobStore {
  /** Records the delivery (if given) and enqueues the job atomically. */
  enqueue(job: NewJob, delivery?: Delivery): Promise<EnqueueResult>
  /**
   * Claims the next runnable job whose key is not running, leasing it to `workerId`; with
   * `kinds`, only a job of one of those kinds (the others stay queued for other workers). A key's
   * jobs still run in order: a job waits for an older queued one of its key whatever its kind.
   */
  claimJob(workerId: string, leaseMs: number, kinds?: readonly string[]): Promise<Job | undefined>
  /** Extends the lease of a running job; false when the lease was lost. */
  renewLease(jobId: string, workerId: string, leaseMs: number): Promise<boolean>
  /**
   * completeJob, retryJob and failJob only write while `workerId` still holds the job's lease
   * (state running, locked_by = workerId); they resolve false, writing nothing, otherwise.
   */
  completeJob(jobId: string, workerId: string, outcome: unknown): Promise<boolean>
  /** Puts the job back in the queue after `delayMs`, keeping the error. */
  retryJob(jobId: string, workerId: string, error: string, delayMs: number): Promise<boolean>
  failJob(jobId: string, workerId: string, error: string): Promise<boolean>
  /** Running jobs whose lease expired (their worker died): returned so the queue can retry or fail them. */
  expiredJobs(): Promise<Job[]>
  /**
   * Requeues or fails one running job whose lease expired or, with `deadOwner`, which that lock
   * (a worker known to be gone) still holds; returns the job as it now is, or undefined if
   * another worker took it.
   */
  recoverJob(
    jobId: string,
    error: string,
    delayMs: number,
    deadOwner?: string,
  ): Promise<Job | undefined>
  getJob(jobId: string): Promise<Job | undefined>
  listJobs(filter?: JobFilter): Promise<Job[]>
  countJobs(): Promise<JobCount[]>
  hasDelivery(id: string): Promise<boolean>
  /**
   * Resolves once a store that sets itself up in the background (pg-boss's schema) is usable;
   * rejects saying why not. Stores ready when built leave it out.
   */
  ready?(): Promise<void>
  close(): Promise<void>
}
