import type { Logger } from 'pino'
import { redact } from '../secrets/redact.js'
import { type Backoff, backoffDelay } from './backoff.js'
import type { JobStore } from './job-store.js'
import type { Job } from './queue.js'
import type { JobContext, JobHandler, Outcome } from './types.js'

/** A job this process claimed: the lock id it holds, and how to stop the handler. */
export interface Claim {
  lock: string
  controller: AbortController
  leaseLost: boolean
  /** Set when the queue is shutting down: a failure then is not the job's fault. */
  stopping: boolean
}

export interface RunJobDeps {
  jobs: JobStore
  handlers: ReadonlyMap<string, JobHandler>
  log: Logger
  leaseMs: number
  backoff: Backoff
  /** Told when a retry becomes due, so the queue can wake then instead of at the next poll. */
  onRetry(delayMs: number): void
}

/** Runs one claimed attempt of a job and records its result, unless the lease was lost. */
export async function runJob(job: Job, claim: Claim, deps: RunJobDeps): Promise<void> {
  const store = deps.jobs
  const log = jobLogger(deps.log, job)
  const handler = deps.handlers.get(job.kind)
  if (!handler) {
    const known = [...deps.handlers.keys()].join(', ')
    const error = `No handler for job kind "${job.kind}" in this DevSys process (it runs: ${known}). The job was enqueued by a different DevSys version; run matching versions.`
    log.error({ attempt: job.attempts }, error)
    await store.failJob(job.id, claim.lock, error)
    return
  }
  let finished = false
  const loseLease = (reason: string, err?: unknown) => {
    if (finished || claim.leaseLost) return
    claim.leaseLost = true
    log.warn({ err, reason }, 'Lost the job lease; aborting, the result will not be recorded')
    claim.controller.abort(new Error(`DevSys lost the lease on job ${job.id} (${reason})`))
  }
  const everyMs = Math.max(1, Math.floor(deps.leaseMs / 3))
  let renewedAt = Date.now()
  const renew = setInterval(() => {
    store.renewLease(job.id, claim.lock, deps.leaseMs).then(
      (ok) => {
        if (ok) renewedAt = Date.now()
        else loseLease('another worker took the job over')
      },
      (err: unknown) => {
        // The lease still holds (the database restarting, a dropped connection): the job goes
        // on, unless the next renewal would come after the lease ran out.
        if (Date.now() - renewedAt + everyMs < deps.leaseMs) {
          log.warn({ err }, 'Renewing the job lease failed; trying again before it runs out')
        } else loseLease('renewing the lease failed', err)
      },
    )
  }, everyMs)
  renew.unref()
  const ctx: JobContext = { job, log, signal: claim.controller.signal }
  log.info({ attempt: job.attempts, maxAttempts: job.maxAttempts }, 'Job started')
  let result: { ok: true; outcome: Outcome } | { ok: false; error: string }
  try {
    result = { ok: true, outcome: await handler.run(job.payload, ctx) }
  } catch (err) {
    result = { ok: false, error: errorText(err) }
  } finally {
    finished = true
    clearInterval(renew)
  }
  // Whoever holds the job now owns its result; writing ours could undo theirs.
  if (claim.leaseLost) return
  if (result.ok) {
    const written = await store.completeJob(job.id, claim.lock, result.outcome)
    if (written) log.info({ status: result.outcome.status }, 'Job finished')
    else log.warn('Job finished but its lease was gone; the result was not recorded')
    return
  }
  const { error } = result
  if (claim.stopping) {
    // Our own shutdown is not the job's fault: put it back at once, whatever the attempt count.
    await store.retryJob(job.id, claim.lock, `DevSys stopped during the job: ${error}`, 0)
    log.warn({ error }, 'Job interrupted by shutdown; queued again')
    return
  }
  if (job.attempts < job.maxAttempts) {
    const delayMs = backoffDelay(job.attempts, deps.backoff)
    if (await store.retryJob(job.id, claim.lock, error, delayMs)) {
      log.warn({ error, attempt: job.attempts, delayMs }, 'Job failed; will retry')
      deps.onRetry(delayMs)
    }
    return
  }
  if (await store.failJob(job.id, claim.lock, error)) {
    log.error({ error, attempts: job.attempts }, 'Job failed for good')
    const failed = (await store.getJob(job.id)) ?? job
    await tellFailed(handler, failed, error, { ...ctx, job: failed })
  }
}

/** Calls onFailed, which must not throw; if it does, the queue still goes on. */
export async function tellFailed(
  handler: JobHandler,
  job: Job,
  error: string,
  ctx: JobContext,
): Promise<void> {
  try {
    await handler.onFailed?.(job.payload, error, ctx)
  } catch (err) {
    ctx.log.error({ err }, 'onFailed threw; the user may not have been told about the failure')
  }
}

/** The job's logger: structured ids only, never the payload (it may hold tokens or user text). */
export function jobLogger(log: Logger, job: Job): Logger {
  return log.child({ job: job.id, kind: job.kind, key: job.key, delivery: job.deliveryId })
}

/** The error recorded (and shown to the user on the last attempt) when a worker died mid-job. */
export function crashError(job: Job): string {
  const base = `the DevSys process running this job stopped (crash or kill) during attempt ${job.attempts} of ${job.maxAttempts}`
  if (job.attempts < job.maxAttempts) return base
  return `${base}; DevSys gave up. Check the DevSys logs from that time, then ask again (re-run the command or push again).`
}

/** The error as stored and shown to users, with anything shaped like a secret removed. */
function errorText(err: unknown): string {
  return redact(rawErrorText(err))
}

function rawErrorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name
  if (typeof err === 'string') return err
  try {
    return JSON.stringify(err) ?? String(err)
  } catch {
    return String(err)
  }
}
