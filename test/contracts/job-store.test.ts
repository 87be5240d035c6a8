import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { JobStore } from '../../src/queue/job-store.js'
import { jobOf } from '../store/support.js'
import { at, start } from './fixtures.js'
import {
  type JobStoreHandle,
  type JobStoreImplementation,
  jobStoreImplementations,
} from './implementations.js'

const job = (
  key: string,
  payload: unknown = {},
  extra: { delayMs?: number; maxAttempts?: number } = {},
) => ({ kind: 'generate', key, payload, ...extra })

/** The in-process queue's state (src/queue/job-store.ts): what every implementation must do. */
function jobStoreContract(impl: JobStoreImplementation) {
  let h: JobStoreHandle
  let store: JobStore
  let t: number
  beforeEach(async () => {
    t = start
    h = await impl.open(() => t)
    store = h.jobs
  })
  afterEach(async () => {
    await h.close()
  })

  describe('enqueue', () => {
    it('records a delivery once: the same delivery id again writes nothing', async () => {
      const first = await store.enqueue(job('task:a', { n: 1 }), { id: 'd-1', event: 'issues' })
      expect(first.kind).toBe('enqueued')
      const again = await store.enqueue(job('task:b', { n: 2 }), { id: 'd-1', event: 'issues' })
      expect(again).toEqual({ kind: 'duplicate-delivery', deliveryId: 'd-1' })
      const jobs = await store.listJobs()
      expect(jobs.map((j) => [j.key, j.payload, j.deliveryId, j.state])).toEqual([
        ['task:a', { n: 1 }, 'd-1', 'queued'],
      ])
      expect(jobs[0]?.maxAttempts).toBe(5)
      expect(jobs[0]?.createdAt).toBe(at(0))
    })

    it('writes delivery and job in one transaction: a failed enqueue can be redelivered', async () => {
      // BigInt cannot be serialised, so the job insert fails after the delivery insert ran.
      await expect(
        store.enqueue(job('task:a', { n: 1n }), { id: 'd-1', event: 'issues' }),
      ).rejects.toThrow()
      expect(await store.hasDelivery('d-1')).toBe(false)
      expect(await store.listJobs()).toEqual([])
      const retry = await store.enqueue(job('task:a', { n: 1 }), { id: 'd-1', event: 'issues' })
      expect(retry.kind).toBe('enqueued')
    })

    it('commits concurrent enqueues together, each with its own result', async () => {
      // Started in the same turn of the event loop: one group commit.
      const results = await Promise.all([
        store.enqueue(job('k:1', { n: 1 }), { id: 'g-1', event: 'issues' }),
        store.enqueue(job('k:2', { n: 2 }), { id: 'g-2', event: 'issues' }),
        store.enqueue(job('k:1', { n: 3 }), { id: 'g-3', event: 'issues' }),
        store.enqueue(job('k:4', { n: 4 }), { id: 'g-1', event: 'issues' }),
      ])
      expect(results.map((r) => r.kind)).toEqual([
        'enqueued',
        'enqueued',
        'coalesced',
        'duplicate-delivery',
      ])
      const jobs = await store.listJobs()
      expect(jobs.map((j) => [j.key, j.payload, j.deliveryId])).toEqual([
        ['k:1', { n: 3 }, 'g-3'],
        ['k:2', { n: 2 }, 'g-2'],
      ])
      // Every promise resolved after the commit: another client already sees the rows.
      const reader = h.other()
      for (const id of ['g-1', 'g-2', 'g-3']) expect(await reader.hasDelivery(id)).toBe(true)
      expect((await reader.listJobs()).map((j) => j.payload)).toEqual([{ n: 3 }, { n: 2 }])
    })

    it('fails only the enqueue that breaks, and commits the rest of its group', async () => {
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const [good, bad, alsoGood] = await Promise.allSettled([
        store.enqueue(job('k:a'), { id: 'e-1', event: 'issues' }),
        store.enqueue(job('k:b', cyclic), { id: 'e-2', event: 'issues' }),
        store.enqueue(job('k:c'), { id: 'e-3', event: 'issues' }),
      ])
      expect(good.status).toBe('fulfilled')
      expect(bad.status).toBe('rejected')
      expect(alsoGood.status).toBe('fulfilled')
      expect((await store.listJobs()).map((j) => j.key)).toEqual(['k:a', 'k:c'])
      // The failed delivery was rolled back with its job, so GitHub's redelivery is accepted.
      expect(await store.hasDelivery('e-2')).toBe(false)
    })

    it('coalesces a queued job with the same key: the newer payload and delivery win', async () => {
      const a = jobOf(await store.enqueue(job('task:a', { v: 1 }), { id: 'd-1', event: 'issues' }))
      t += 10
      const b = await store.enqueue(job('task:a', { v: 2 }), { id: 'd-2', event: 'issues' })
      expect(b.kind).toBe('coalesced')
      const jobs = await store.listJobs()
      expect(jobs).toHaveLength(1)
      expect(jobs[0]).toMatchObject({
        id: a.id,
        payload: { v: 2 },
        deliveryId: 'd-2',
        updatedAt: at(10),
      })
      // A running job is not replaced: the new event gets a job of its own, run after it.
      await store.claimJob('w1', 1000)
      const c = await store.enqueue(job('task:a', { v: 3 }))
      expect(c.kind).toBe('enqueued')
      expect(await store.listJobs({ state: 'queued' })).toHaveLength(1)
    })

    it('honours delayMs and the job maxAttempts', async () => {
      await store.enqueue(job('task:a', {}, { delayMs: 1000, maxAttempts: 2 }))
      expect(await store.claimJob('w1', 1000)).toBeUndefined()
      t += 1000
      expect(await store.claimJob('w1', 1000)).toMatchObject({ maxAttempts: 2, attempts: 1 })
    })
  })

  describe('claimJob', () => {
    it('never runs two jobs of one key, and takes other keys meanwhile', async () => {
      const a1 = jobOf(await store.enqueue(job('task:a', { n: 1 })))
      const claimed = await store.claimJob('w1', 1000)
      expect(claimed).toMatchObject({
        id: a1.id,
        state: 'running',
        attempts: 1,
        lockedBy: 'w1',
        lockedUntil: at(1000),
      })
      const a2 = jobOf(await store.enqueue(job('task:a', { n: 2 })))
      const b1 = jobOf(await store.enqueue(job('task:b')))
      expect((await store.claimJob('w2', 1000))?.id).toBe(b1.id)
      expect(await store.claimJob('w3', 1000)).toBeUndefined()
      expect(await store.completeJob(a1.id, 'w1', { status: 'done', summary: 'ok' })).toBe(true)
      expect((await store.claimJob('w3', 1000))?.id).toBe(a2.id)
    })

    it('keeps the order of a key: a newer job waits for an older one in retry backoff', async () => {
      const a1 = jobOf(await store.enqueue(job('task:a', { v: 1 })))
      await store.claimJob('w1', 1000)
      const a2 = jobOf(await store.enqueue(job('task:a', { v: 2 })))
      expect(await store.retryJob(a1.id, 'w1', 'boom', 5000)).toBe(true)
      expect(await store.claimJob('w1', 1000)).toBeUndefined()
      // Coalescing goes to the newest queued job, which has not started; the retry keeps its payload.
      const a3 = await store.enqueue(job('task:a', { v: 3 }))
      expect(a3).toMatchObject({ kind: 'coalesced', job: { id: a2.id, payload: { v: 3 } } })
      t += 5000
      expect(await store.claimJob('w1', 1000)).toMatchObject({
        id: a1.id,
        attempts: 2,
        payload: { v: 1 },
      })
      await store.completeJob(a1.id, 'w1', null)
      expect(await store.claimJob('w1', 1000)).toMatchObject({ id: a2.id, payload: { v: 3 } })
    })

    it('with kinds, claims only jobs of those kinds and leaves the rest queued', async () => {
      const gen = jobOf(await store.enqueue(job('task:a')))
      const tests = jobOf(await store.enqueue({ ...job('task:b'), kind: 'run-tests' }))
      expect(await store.claimJob('tester', 1000, ['run-tests'])).toMatchObject({
        id: tests.id,
        kind: 'run-tests',
        lockedBy: 'tester',
      })
      expect(await store.claimJob('tester', 1000, ['run-tests'])).toBeUndefined()
      expect(await store.claimJob('nobody', 1000, [])).toBeUndefined()
      expect((await store.getJob(gen.id))?.state).toBe('queued')
      expect(await store.claimJob('generator', 1000, ['generate', 'deploy'])).toMatchObject({
        id: gen.id,
        lockedBy: 'generator',
      })
      // A key's jobs keep their order across kinds: a test job waits for the running generate.
      const next = jobOf(await store.enqueue({ ...job('task:a'), kind: 'run-tests' }))
      expect(await store.claimJob('tester', 1000, ['run-tests'])).toBeUndefined()
      await store.completeJob(gen.id, 'generator', null)
      expect((await store.claimJob('tester', 1000, ['run-tests']))?.id).toBe(next.id)
    })
  })

  describe('leases', () => {
    it('only the lease holder renews, completes, retries or fails a job', async () => {
      const a = jobOf(await store.enqueue(job('task:a')))
      await store.claimJob('w1', 1000)
      expect(await store.completeJob(a.id, 'w2', { status: 'done', summary: 'stolen' })).toBe(false)
      expect(await store.retryJob(a.id, 'w2', 'x', 0)).toBe(false)
      expect(await store.failJob(a.id, 'w2', 'x')).toBe(false)
      expect(await store.renewLease(a.id, 'w2', 5000)).toBe(false)
      expect(await store.getJob(a.id)).toMatchObject({ state: 'running', lockedUntil: at(1000) })
      t += 500
      expect(await store.renewLease(a.id, 'w1', 1000)).toBe(true)
      expect((await store.getJob(a.id))?.lockedUntil).toBe(at(1500))

      expect(await store.retryJob(a.id, 'w1', 'network down', 200)).toBe(true)
      expect(await store.getJob(a.id)).toMatchObject({
        state: 'queued',
        runAt: at(700),
        lastError: 'network down',
        lockedBy: null,
        lockedUntil: null,
      })
      t += 200
      await store.claimJob('w1', 1000)
      expect(await store.failJob(a.id, 'w1', 'bad manifest')).toBe(true)
      expect(await store.getJob(a.id)).toMatchObject({
        state: 'failed',
        attempts: 2,
        lastError: 'bad manifest',
      })
      expect(await store.completeJob(a.id, 'w1', null)).toBe(false)
    })

    it('recovers an expired job: requeued while attempts remain, then failed', async () => {
      const a = jobOf(await store.enqueue(job('task:a', {}, { maxAttempts: 2 })))
      await store.claimJob('dead-1', 1000)
      t += 1000
      expect(await store.expiredJobs()).toEqual([])
      expect(await store.recoverJob(a.id, 'crashed', 0)).toBeUndefined()
      t += 1
      expect((await store.expiredJobs()).map((j) => j.id)).toEqual([a.id])
      expect(await store.recoverJob(a.id, 'crashed once', 300)).toMatchObject({
        state: 'queued',
        attempts: 1,
        runAt: at(1301),
        lastError: 'crashed once',
        lockedBy: null,
      })
      t += 300
      await store.claimJob('dead-2', 1000)
      t += 1001
      expect(await store.recoverJob(a.id, 'crashed twice', 300)).toMatchObject({
        state: 'failed',
        attempts: 2,
        lastError: 'crashed twice',
      })
      expect(await store.recoverJob(a.id, 'again', 0)).toBeUndefined()
      expect(await store.expiredJobs()).toEqual([])
    })

    it('a worker whose expired lease was recovered cannot record its result', async () => {
      const a = jobOf(await store.enqueue(job('task:a')))
      await store.claimJob('slow', 1000)
      t += 2000
      await store.recoverJob(a.id, 'lease expired', 0)
      expect(await store.claimJob('fresh', 1000)).toMatchObject({ id: a.id, attempts: 2 })
      expect(await store.completeJob(a.id, 'slow', { status: 'done', summary: 'stale' })).toBe(
        false,
      )
      expect(await store.renewLease(a.id, 'slow', 1000)).toBe(false)
      expect(await store.completeJob(a.id, 'fresh', { status: 'done', summary: 'fresh' })).toBe(
        true,
      )
      expect(await store.getJob(a.id)).toMatchObject({
        state: 'done',
        lockedBy: 'fresh',
        outcome: { status: 'done', summary: 'fresh' },
      })
    })
  })

  describe('listJobs', () => {
    it('filters by state and kind, oldest first', async () => {
      await store.enqueue(job('task:a'))
      await store.enqueue({ kind: 'deploy', key: 'env:prod', payload: {} })
      await store.enqueue({ kind: 'deploy', key: 'env:stage', payload: {} })
      await store.claimJob('w1', 1000)
      expect((await store.listJobs({ kind: 'deploy' })).map((j) => j.key)).toEqual([
        'env:prod',
        'env:stage',
      ])
      expect((await store.listJobs({ state: 'running' })).map((j) => j.key)).toEqual(['task:a'])
      expect((await store.listJobs({ state: 'queued', kind: 'deploy' })).map((j) => j.key)).toEqual(
        ['env:prod', 'env:stage'],
      )
      expect((await store.listJobs({ newest: 2 })).map((j) => j.key)).toEqual([
        'env:stage',
        'env:prod',
      ])
      expect((await store.listJobs({ kind: 'deploy', newest: 1 })).map((j) => j.key)).toEqual([
        'env:stage',
      ])
    })
  })

  describe('countJobs', () => {
    it('counts queued, running and failed jobs per kind, and since when the oldest queued one is due', async () => {
      expect(await store.countJobs()).toEqual([])
      const failed = jobOf(await store.enqueue(job('task:c', {}, { maxAttempts: 1 })))
      expect((await store.claimJob('w1', 1000))?.id).toBe(failed.id)
      expect(await store.failJob(failed.id, 'w1', 'broken')).toBe(true)
      const done = jobOf(await store.enqueue({ kind: 'deploy', key: 'env:dev', payload: {} }))
      expect((await store.claimJob('w1', 1000))?.id).toBe(done.id)
      expect(await store.completeJob(done.id, 'w1', null)).toBe(true)
      const running = jobOf(await store.enqueue(job('task:a')))
      await store.enqueue(job('task:b'))
      expect((await store.claimJob('w1', 1000))?.id).toBe(running.id)
      t += 1000
      await store.enqueue({ kind: 'deploy', key: 'env:prod', payload: {} })
      await store.enqueue({ kind: 'deploy', key: 'env:stage', payload: {}, delayMs: 60_000 })
      // The delayed deploy is queued but not due: it sets no age. Done jobs are not counted.
      expect(await store.countJobs()).toEqual([
        { kind: 'deploy', state: 'queued', count: 2, oldestDueAt: at(1000) },
        { kind: 'generate', state: 'failed', count: 1, oldestDueAt: null },
        { kind: 'generate', state: 'queued', count: 1, oldestDueAt: at(0) },
        { kind: 'generate', state: 'running', count: 1, oldestDueAt: null },
      ])
    })
  })
}

describe.each(jobStoreImplementations)('JobStore: $name', jobStoreContract)
