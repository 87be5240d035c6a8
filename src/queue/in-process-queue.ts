import type { Logger } from 'pino'
import { type Backoff, backoffDelay } from './backoff.js'
import type { JobStore } from './job-store.js'
import type { Job, Queue } from './queue.js'
import { repeatSchedules } from './repeat-schedules.js'
import { type Claim, crashError, jobLogger, runJob, tellFailed } from './run-job.js'
import type { JobHandler } from './types.js'
import { leaseOwnerProbe, makeWorkerId } from './worker-identity.js'

export interface InProcessQueueOptions {
  /** The queue state; only this queue reaches it. close() closes it. */
  jobs: JobStore
  handlers: JobHandler[]
  /**
   * Claim only jobs whose kind has a handler here, leaving the rest queued for the workers that
   * run them (a pool split by DEVSYS_QUEUES). Default false: every kind is claimed, and a job
   * no handler here runs fails, as one enqueued by a different DevSys version.
   */
  ownKindsOnly?: boolean
  log: Logger
  /** Jobs run at once by this process (default 2). */
  concurrency?: number
  /** How long a claim lasts without renewal (default 30000); renewed every leaseMs/3. */
  leaseMs?: number
  /** Attempts for jobs enqueued without their own maxAttempts (default 5). */
  maxAttempts?: number
  backoff?: Partial<Backoff>
  /** How often to look for due retries and expired leases of dead workers (default 1000). */
  pollMs?: number
  /**
   * Identifies this process in `locked_by` (default host:pid:random, plus boot, pid namespace
   * and start time on Linux, so that the next process can tell this one is gone).
   */
  workerId?: string
  /**
   * Whether the process holding a lock is certainly gone (default: same machine and pid
   * namespace, and /proc shows its pid gone or reused). Its jobs are recovered at once instead
   * of when their lease expires.
   */
  isOwnerGone?: (lock: string) => boolean
  /** stop() waits this long for running jobs, aborts them, and waits this long again (default 10000). */
  graceMs?: number
  /** Milliseconds since the epoch; must match the job store's clock (drain(), schedule slots). */
  now?: () => number
}

/**
 * The in-process queue over a job store: durable jobs, one running job per key, leases renewed
 * by the worker, retries with backoff, recovery of dead workers' jobs, repeating schedules.
 */
export function createInProcessQueue(opts: InProcessQueueOptions): Queue {
  const { jobs: store, log } = opts
  const concurrency = Math.max(1, opts.concurrency ?? 2)
  const leaseMs = opts.leaseMs ?? 30_000
  const maxAttempts = opts.maxAttempts ?? 5
  const backoff: Backoff = { baseMs: 1000, maxMs: 60_000, ...opts.backoff }
  const pollMs = opts.pollMs ?? 1000
  const graceMs = opts.graceMs ?? 10_000
  const now = opts.now ?? Date.now
  const workerId = opts.workerId ?? makeWorkerId()
  const isOwnerGone = opts.isOwnerGone ?? leaseOwnerProbe()
  const handlers = new Map<string, JobHandler>()
  for (const h of opts.handlers) {
    if (handlers.has(h.kind)) throw new Error(`Two job handlers for kind "${h.kind}"`)
    handlers.set(h.kind, h)
  }
  const kinds = opts.ownKindsOnly ? [...handlers.keys()] : undefined
  const ours = (job: Job) => kinds === undefined || kinds.includes(job.kind)

  const active = new Map<string, Claim>()
  const running = new Set<Promise<void>>()
  const timers = new Set<NodeJS.Timeout>()
  const listeners = new Set<() => void>()
  let started = false
  let stopping = false
  let claims = 0
  let pumping: Promise<void> | undefined
  let pumpAgain = false
  let recovering: Promise<number> | undefined

  const changed = () => {
    for (const l of listeners) l()
  }

  // Called on enqueue, job end, retry due and poll; never overlaps itself.
  const wake = () => {
    if (!started || stopping) return
    if (pumping) {
      pumpAgain = true
      return
    }
    pumping = pump().finally(() => {
      pumping = undefined
      changed()
      // A wake that arrived after pump's last check but before this callback must not be lost.
      if (pumpAgain) wake()
    })
  }

  const pump = async () => {
    try {
      do {
        pumpAgain = false
        while (!stopping && active.size < concurrency) {
          // A lock id per claim, not per process: if this process loses a lease and later
          // claims the same job again, the stale run still cannot write its result.
          const lock = `${workerId}#${++claims}`
          const job = await store.claimJob(lock, leaseMs, kinds)
          if (!job) break
          launch(job, lock)
        }
      } while (pumpAgain && !stopping)
    } catch (err) {
      log.error({ err, worker: workerId }, 'Claiming a job failed; trying again at the next poll')
    }
  }

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t)
      fn()
    }, ms)
    t.unref()
    timers.add(t)
  }

  const runDeps = {
    jobs: store,
    handlers,
    log,
    leaseMs,
    backoff,
    onRetry: (ms: number) => later(ms, wake),
  }

  const launch = (job: Job, lock: string) => {
    const entry: Claim = { lock, controller: new AbortController(), leaseLost: false, stopping }
    active.set(job.id, entry)
    const done = runJob(job, entry, runDeps)
      .catch((err: unknown) => log.error({ err, job: job.id }, 'Recording a job result failed'))
      .finally(() => {
        active.delete(job.id)
        running.delete(done)
        wake()
        changed()
      })
    running.add(done)
  }

  // Expired leases, and leases whose process is gone (a predecessor killed with SIGKILL on this
  // machine): those need not wait out the lease, nobody can renew it.
  const recoverable = async (): Promise<{ job: Job; deadOwner?: string }[]> => {
    const expired = await store.expiredJobs()
    // A job of a kind left to other workers is theirs to recover: only they can tell its user.
    const found: { job: Job; deadOwner?: string }[] = expired.filter(ours).map((job) => ({ job }))
    for (const job of await store.listJobs({ state: 'running' })) {
      if (job.lockedBy === null || !ours(job) || expired.some((e) => e.id === job.id)) continue
      if (isOwnerGone(job.lockedBy)) found.push({ job, deadOwner: job.lockedBy })
    }
    return found
  }

  const recoverOnce = async (): Promise<number> => {
    let changedJobs = 0
    for (const { job, deadOwner } of await recoverable()) {
      // Our own job past its lease (event loop stalled): its renewal timer settles it.
      if (active.get(job.id)?.lock === job.lockedBy) continue
      const error = crashError(job)
      const delayMs = backoffDelay(job.attempts, backoff)
      const after = await store.recoverJob(job.id, error, delayMs, deadOwner)
      if (!after) continue // another process recovered it first
      changedJobs++
      const jobLog = jobLogger(log, job)
      if (after.state === 'failed') {
        jobLog.error(
          { lockedBy: job.lockedBy, attempts: job.attempts, ownerGone: deadOwner !== undefined },
          'Job worker died; gave up',
        )
        const handler = handlers.get(after.kind)
        const signal = new AbortController().signal
        if (handler) await tellFailed(handler, after, error, { job: after, log: jobLog, signal })
      } else {
        jobLog.warn(
          {
            lockedBy: job.lockedBy,
            attempt: job.attempts,
            delayMs,
            ownerGone: deadOwner !== undefined,
          },
          'Job worker died; requeued',
        )
        later(delayMs, wake)
      }
    }
    if (changedJobs > 0) wake()
    return changedJobs
  }

  const recover = () => {
    recovering ??= recoverOnce().finally(() => {
      recovering = undefined
    })
    return recovering
  }

  const poll = () => {
    if (!started || stopping) return
    recover().catch((err: unknown) => log.error({ err }, 'Recovering expired jobs failed'))
    void schedules.fire()
    wake()
    later(pollMs, poll)
  }

  const settle = (ms: number) =>
    Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, ms).unref())])

  const enqueue: Queue['enqueue'] = async (job, options = {}) => {
    const result = await store.enqueue(
      { ...job, maxAttempts: job.maxAttempts ?? maxAttempts },
      options.delivery,
    )
    if (result.kind !== 'duplicate-delivery') wake()
    return result
  }
  const schedules = repeatSchedules({ enqueue, now, log })

  const queue: Queue = {
    enqueue,
    async schedule(schedule) {
      await schedules.add(schedule)
      if (started && !stopping) await schedules.fire()
    },
    start() {
      if (started) return
      started = true
      stopping = false
      log.info(
        { worker: workerId, concurrency, leaseMs, kinds: kinds ?? 'all' },
        'Job queue started',
      )
      poll()
    },
    async stop() {
      if (!started) return
      stopping = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
      await pumping
      await recovering?.catch(() => undefined)
      await schedules.idle()
      await settle(graceMs)
      if (active.size > 0) {
        log.warn({ jobs: [...active.keys()] }, 'Jobs still running at shutdown; aborting them')
        for (const entry of active.values()) {
          entry.stopping = true
          entry.controller.abort(new Error('DevSys is stopping'))
        }
        await settle(graceMs)
      }
      // Whatever still runs keeps its lease until it expires; the next start() recovers it.
      if (active.size > 0) log.warn({ jobs: [...active.keys()] }, 'Jobs ignored the abort')
      started = false
      log.info({ worker: workerId }, 'Job queue stopped')
    },
    async drain() {
      for (;;) {
        if (active.size === 0 && !pumping) {
          const due = new Date(now()).toISOString()
          // Jobs of kinds this queue leaves to other workers are theirs to wait for.
          const busy = (await store.listJobs({ state: 'running' })).some(ours)
          const queued = (await store.listJobs({ state: 'queued' })).filter(ours)
          // A retry (attempts > 0) counts however long its backoff: it is unfinished work.
          if (!busy && !queued.some((j) => j.runAt <= due || j.attempts > 0)) return
        }
        // Not unref'd: whoever awaits drain() wants the process to stay up until it resolves.
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(t)
            listeners.delete(done)
            resolve()
          }
          const t = setTimeout(done, Math.min(pollMs, 50))
          listeners.add(done)
        })
      }
    },
    recover,
    getJob: (id) => store.getJob(id),
    listJobs: (filter) => store.listJobs(filter),
    countJobs: () => store.countJobs(),
    hasDelivery: (id) => store.hasDelivery(id),
    ready: async () => {
      await store.ready?.()
    },
    async close() {
      await queue.stop()
      await store.close()
    },
  }
  return queue
}
