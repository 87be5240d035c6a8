import type { Logger } from 'pino'
import type { Job } from './queue.js'

/** What a job ended with. Expected stops are outcomes with a reason code, not exceptions. */
export type Outcome =
  | { status: 'done'; summary: string; details?: Record<string, unknown> }
  | { status: 'skipped'; reason: string; summary: string }
  | { status: 'rejected'; reason: string; summary: string }

export interface JobContext {
  job: Job
  log: Logger
  /** Aborted when the job's lease is lost or the process is shutting down. */
  signal: AbortSignal
}

/** One kind of job: how to run it, and how to tell the user when it fails for good. */
export interface JobHandler<P = unknown> {
  kind: string
  run(payload: P, ctx: JobContext): Promise<Outcome>
  /** Called once when the job has failed for good (attempts exhausted or crash); must not throw. */
  onFailed?(payload: P, error: string, ctx: JobContext): Promise<void>
}
