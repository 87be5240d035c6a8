import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import { createInProcessQueue } from '../../src/queue/in-process-queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import type { JobHandler } from '../../src/queue/types.js'
import type { DevsysPhases } from './devsys-run.js'

export interface QueuedResult {
  phases: DevsysPhases
  /** enqueue() called → the handler starts: the SQLite write, the wake-up and the claim. */
  pickup: number
  /** enqueue() called → the branch is pushed: "from a queued task to a pushed branch". */
  toPushed: number
  /** enqueue() called → the job is recorded as done in the store. */
  toDone: number
}

export interface QueuedRunner {
  /** Enqueues one job that generates and pushes `branch`, and waits until it is done. */
  run(branch: string): Promise<QueuedResult>
  stop(): Promise<void>
}

interface Payload {
  branch: string
}

const KIND = 'bench-generate'
/** Longest a single job may take before the benchmark gives up on it. */
const JOB_TIMEOUT_MS = 120_000

/**
 * DevSys's real job queue (the in-process queue over its SQLite state, synchronous=NORMAL as
 * DevSys runs it by default) with one handler, which runs `generate` for the job's branch.
 */
export function createQueuedRunner(input: {
  dataDir: string
  log: Logger
  generate: (branch: string, signal: AbortSignal) => Promise<DevsysPhases>
}): QueuedRunner {
  const jobs = openSqliteJobStore({ dataDir: input.dataDir, log: input.log, synchronous: 'NORMAL' })
  const started = new Map<string, number>()
  const waiting = new Map<string, (result: DevsysPhases | Error) => void>()
  const handler: JobHandler<Payload> = {
    kind: KIND,
    async run(payload, ctx) {
      started.set(payload.branch, performance.now())
      const settle = waiting.get(payload.branch)
      try {
        const phases = await input.generate(payload.branch, ctx.signal)
        settle?.(phases)
        return { status: 'done', summary: `pushed ${payload.branch}` }
      } catch (error) {
        settle?.(error instanceof Error ? error : new Error(String(error)))
        throw error
      }
    },
  }
  const queue = createInProcessQueue({
    jobs,
    handlers: [handler as JobHandler],
    log: input.log,
    maxAttempts: 1,
  })
  queue.start()

  return {
    async run(branch) {
      let timer: NodeJS.Timeout | undefined
      const finished = new Promise<DevsysPhases>((resolve, reject) => {
        waiting.set(branch, (result) =>
          result instanceof Error ? reject(result) : resolve(result),
        )
        timer = setTimeout(
          () =>
            reject(new Error(`The job for ${branch} did not finish within ${JOB_TIMEOUT_MS} ms`)),
          JOB_TIMEOUT_MS,
        )
      })
      const t0 = performance.now()
      try {
        const enqueued = await queue.enqueue({
          kind: KIND,
          key: `bench:${branch}`,
          payload: { branch },
        })
        if (enqueued.kind !== 'enqueued')
          throw new Error(`The job for ${branch} was ${enqueued.kind}`)
        const phases = await finished
        // The handler has returned; drain() resolves once the queue has recorded the outcome.
        await queue.drain()
        const t1 = performance.now()
        const job = await queue.getJob(enqueued.job.id)
        if (job?.state !== 'done') {
          throw new Error(
            `The job for ${branch} ended ${job?.state ?? 'missing'}: ${job?.lastError}`,
          )
        }
        const start = started.get(branch) ?? Number.NaN
        return { phases, pickup: start - t0, toPushed: phases.pushedAt - t0, toDone: t1 - t0 }
      } finally {
        clearTimeout(timer)
        waiting.delete(branch)
      }
    },
    async stop() {
      await queue.close()
    },
  }
}
