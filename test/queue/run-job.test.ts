/**
 * A running job's lease renewal that fails (the database restarting, a dropped connection) does
 * not abort the job while the lease still holds; only when the next renewal would come after it
 * ran out is the job aborted, since another worker may then take it over.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { JobStore } from '../../src/queue/job-store.js'
import { runJob } from '../../src/queue/run-job.js'
import { openSqliteJobStore, type SqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import type { JobHandler } from '../../src/queue/types.js'
import { capturingLog, tempDir } from '../store/support.js'
import { done } from './queue-fixture.js'

const LEASE_MS = 600 // renewed every 200 ms
let tmp: ReturnType<typeof tempDir>
let store: SqliteJobStore
beforeEach(() => {
  tmp = tempDir('devsys-run-job-')
  store = openSqliteJobStore({ dataDir: tmp.dir })
})
afterEach(async () => {
  await store.close()
  tmp.remove()
})

/** The store, with renewals failing as `fails(n)` (the n-th renewal, from 1) says. */
function renewingBadly(fails: (n: number) => boolean): JobStore {
  let renewals = 0
  return new Proxy(store, {
    get(target, property) {
      if (property === 'renewLease') {
        return (...args: Parameters<JobStore['renewLease']>) =>
          fails(++renewals)
            ? Promise.reject(new Error('Connection terminated unexpectedly'))
            : target.renewLease(...args)
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** Runs a job whose handler takes `ms` unless aborted; returns when it ended and why. */
async function runFor(ms: number, jobs: JobStore) {
  const { log, lines } = capturingLog()
  let abortedAfter: number | undefined
  let reason: unknown
  const handler: JobHandler = {
    kind: 'slow',
    async run(_payload, ctx) {
      const started = Date.now()
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms)
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          abortedAfter = Date.now() - started
          reason = ctx.signal.reason
          resolve()
        })
      })
      return done('slept')
    },
  }
  await store.enqueue({ kind: 'slow', key: 'k', payload: {}, maxAttempts: 3 })
  const job = await store.claimJob('w#1', LEASE_MS)
  if (!job) throw new Error('no job claimed')
  const claim = {
    lock: 'w#1',
    controller: new AbortController(),
    leaseLost: false,
    stopping: false,
  }
  await runJob(job, claim, {
    jobs,
    handlers: new Map([['slow', handler]]),
    log,
    leaseMs: LEASE_MS,
    backoff: { baseMs: 10, maxMs: 40 },
    onRetry: () => undefined,
  })
  return { job: await store.getJob(job.id), abortedAfter, reason, log: lines.join('') }
}

describe('a job whose lease renewal fails', () => {
  it('goes on and completes when the next renewal succeeds', async () => {
    const ran = await runFor(
      1_000,
      renewingBadly((n) => n === 1),
    )
    expect(ran.abortedAfter).toBeUndefined()
    expect(ran.job).toMatchObject({ state: 'done', outcome: done('slept') })
    expect(ran.log).toContain('Renewing the job lease failed; trying again before it runs out')
  })

  it('is aborted, its result not recorded, once the lease would run out before the next renewal', async () => {
    const ran = await runFor(
      5_000,
      renewingBadly(() => true),
    )
    // Renewals at 200 ms (tolerated) and 400 ms (the next, at 600 ms, would be too late).
    expect(ran.abortedAfter).toBeGreaterThanOrEqual(350)
    expect(ran.abortedAfter).toBeLessThan(LEASE_MS)
    expect(String(ran.reason)).toContain('renewing the lease failed')
    expect(ran.job).toMatchObject({ state: 'running', outcome: null })
  })
})
