import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { queueKind } from '../../src/queue/create-queue.js'
import { openPgBossJobStore } from '../../src/queue/pg-boss-job-store.js'
import { createPgBossQueue } from '../../src/queue/pg-boss-queue.js'
import { uuidV5 } from '../../src/queue/pg-boss-rows.js'
import type { Queue } from '../../src/queue/queue.js'
import type { JobHandler } from '../../src/queue/types.js'
import { createTestDatabase, requirePostgres, type TestDatabase } from '../helpers/postgres.js'
import { deferred, jobOf } from '../store/support.js'
import { done, inProcessTimings } from './queue-fixture.js'

const postgres = await requirePostgres('runs the pg-boss queue across two processes')

describe('queueKind', () => {
  it('is pg-boss when DATABASE_URL is set, in process otherwise', () => {
    const base = {
      dataDir: '/tmp/x',
      storeSync: 'FULL' as const,
      workerConcurrency: 2,
      jobLeaseMs: 1000,
      jobMaxAttempts: 5,
      shutdownGraceMs: 10_000,
    }
    expect(queueKind(base)).toBe('in-process')
    expect(queueKind({ ...base, databaseUrl: 'postgres://u@h/db' })).toBe('pg-boss')
  })
})

describe('uuidV5', () => {
  it('matches RFC 9562 (www.example.com in the DNS namespace) and is stable per delivery', () => {
    const dns = '6ba7b810-9dad-11d1-80b4-00c04fd430c8'
    expect(uuidV5('www.example.com', dns)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2')
    expect(uuidV5('d-1:deploy')).toBe(uuidV5('d-1:deploy'))
    expect(uuidV5('d-1:deploy')).not.toBe(uuidV5('d-1'))
  })
})

describe.skipIf(!postgres)('pg-boss queue: two processes on one database', () => {
  let database: TestDatabase
  let queues: Queue[]
  // Each queue has its own pool and pg-boss instance, as two DevSys processes would.
  const processOn = (handlers: JobHandler[], concurrency = 4) => {
    const queue = createPgBossQueue({
      url: database.url,
      ...inProcessTimings(),
      handlers,
      concurrency,
    })
    queues.push(queue)
    return queue
  }
  const sql = async (text: string, values: unknown[] = []) =>
    (await database.asAdmin(text, values)).rows as Record<string, unknown>[]

  beforeEach(async () => {
    database = await createTestDatabase()
    queues = []
  })
  afterEach(async () => {
    for (const queue of queues) await queue.close()
    await database.drop()
  })

  it('runs one job per key at a time across both, and other keys meanwhile', async () => {
    const running = new Map<string, number>()
    const maxPerKey = new Map<string, number>()
    const ranBy = new Map<string, Set<number>>()
    let parallel = 0
    let maxParallel = 0
    const handler = (worker: number): JobHandler<{ key: string }> => ({
      kind: 'work',
      async run({ key }) {
        running.set(key, (running.get(key) ?? 0) + 1)
        maxPerKey.set(key, Math.max(maxPerKey.get(key) ?? 0, running.get(key) ?? 0))
        maxParallel = Math.max(maxParallel, ++parallel)
        ranBy.set(key, (ranBy.get(key) ?? new Set()).add(worker))
        await new Promise((r) => setTimeout(r, 30))
        parallel--
        running.set(key, (running.get(key) ?? 0) - 1)
        return done(key)
      },
    })
    const [one, two] = [
      processOn([handler(1) as JobHandler]),
      processOn([handler(2) as JobHandler]),
    ]
    if (!one || !two) throw new Error('two queues expected')
    // Both processes enqueue to every key while its jobs run (some enqueues coalesce, those
    // that find their key running get a job of their own), so both see runnable jobs per key.
    one.start()
    two.start()
    const keys = ['A', 'B', 'C']
    for (let round = 0; round < 6; round++) {
      for (const key of keys) {
        const via = round % 2 === 0 ? one : two
        await via.enqueue({ kind: 'work', key, payload: { key } })
      }
      await new Promise((r) => setTimeout(r, 15))
    }
    await one.drain()
    await two.drain()
    for (const key of keys) expect(maxPerKey.get(key)).toBe(1)
    expect(maxParallel).toBeGreaterThan(1)
    const jobs = await one.listJobs()
    expect(jobs.every((j) => j.state === 'done' && j.attempts === 1)).toBe(true)
    // Both processes took jobs.
    const workers = new Set([...ranBy.values()].flatMap((s) => [...s]))
    expect(workers).toEqual(new Set([1, 2]))
  })

  it('lets the other process run another key while one key is held, never the held key', async () => {
    const gate = deferred()
    const started = deferred()
    const events: string[] = []
    const handler: JobHandler<{ name: string }> = {
      kind: 'step',
      async run({ name }) {
        events.push(`start ${name}`)
        if (name === 'A1') {
          started.resolve()
          await gate.promise
        }
        events.push(`end ${name}`)
        return done(name)
      },
    }
    const one = processOn([handler as JobHandler], 1)
    const two = processOn([handler as JobHandler], 1)
    one.start()
    await one.enqueue({ kind: 'step', key: 'A', payload: { name: 'A1' } })
    await started.promise
    await one.enqueue({ kind: 'step', key: 'A', payload: { name: 'A2' } })
    await one.enqueue({ kind: 'step', key: 'B', payload: { name: 'B1' } })
    two.start()
    await new Promise((r) => setTimeout(r, 300))
    expect(events).toEqual(['start A1', 'start B1', 'end B1'])
    gate.resolve()
    await one.drain()
    await two.drain()
    expect(events.indexOf('start A2')).toBeGreaterThan(events.indexOf('end A1'))
  })

  it('stores a job enqueued twice with one delivery id once, under the UUID of that id', async () => {
    const one = processOn([])
    const two = processOn([])
    const delivery = { id: '8d3c6f30-7a0e-11ef-9d5e-1a2b3c4d5e6f:deploy', event: 'push' }
    const job = { kind: 'deploy', key: 'env:prod', payload: { sha: 'abc' } }
    const results = await Promise.all([
      one.enqueue(job, { delivery }),
      two.enqueue({ ...job, payload: { sha: 'def' } }, { delivery }),
    ])
    expect(results.map((r) => r.kind).sort()).toEqual(['duplicate-delivery', 'enqueued'])
    const enqueued = jobOf(
      results.find((r) => r.kind === 'enqueued') ?? ({ kind: 'none' } as never),
    )
    expect(enqueued.id).toBe(uuidV5(delivery.id))
    // Later, too (a redelivery after the first commit), from either process.
    expect((await two.enqueue(job, { delivery })).kind).toBe('duplicate-delivery')
    expect(await one.hasDelivery(delivery.id)).toBe(true)
    const rows = await sql('SELECT id, singleton_key, policy FROM devsys_queue.job')
    expect(rows).toEqual([{ id: enqueued.id, singleton_key: 'env:prod', policy: 'singleton' }])
    expect(await sql('SELECT id, job_id FROM devsys_queue.delivery')).toEqual([
      { id: delivery.id, job_id: enqueued.id },
    ])
    expect((await two.listJobs()).map((j) => j.deliveryId)).toEqual([delivery.id])
  })

  it("keeps pg-boss's singleton guarantee: the database refuses a second running job of a key", async () => {
    const one = processOn([])
    await one.enqueue({ kind: 'k', key: 'A', payload: {} })
    // A second queued job of the key, written by hand; then both made active at once.
    await sql(`INSERT INTO devsys_queue.job (id, name, data, singleton_key, policy)
      VALUES (gen_random_uuid(), 'devsys', '{"kind":"k","payload":{},"seq":99}', 'A', 'singleton')`)
    await expect(
      sql(`UPDATE devsys_queue.job SET state = 'active' WHERE singleton_key = 'A'`),
    ).rejects.toThrow(/duplicate key/)
  })

  it('hands a job back at stop(): the other process runs it again', async () => {
    const runs: string[] = []
    const started = deferred()
    const slow = (name: string): JobHandler => ({
      kind: 'slow',
      async run(_p, ctx) {
        runs.push(`${name} attempt ${ctx.job.attempts}`)
        if (name === 'one') {
          started.resolve()
          // Runs until stop() aborts it.
          await new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
          )
        }
        return done(name)
      },
    })
    const one = processOn([slow('one')], 1)
    one.start()
    const job = jobOf(await one.enqueue({ kind: 'slow', key: 'k', payload: {} }))
    await started.promise
    await one.stop()
    expect(await one.getJob(job.id)).toMatchObject({ state: 'queued', attempts: 1 })
    const two = processOn([slow('two')], 1)
    two.start()
    await two.drain()
    expect(runs).toEqual(['one attempt 1', 'two attempt 2'])
    expect(await two.getJob(job.id)).toMatchObject({ state: 'done', outcome: done('two') })
  })

  it("recovers a dead process's job when its lease expires, and reports the last failure once", async () => {
    // A process that claimed two jobs and died: its lock names a host that is not this one.
    const dead = openPgBossJobStore({ url: database.url })
    const failed: string[] = []
    const runs: string[] = []
    const handler: JobHandler<{ name: string }> = {
      kind: 'job',
      async run({ name }) {
        runs.push(name)
        return done(name)
      },
      onFailed: async ({ name }, error) => void failed.push(`${name}: ${error}`),
    }
    const live = processOn([handler as JobHandler], 2)
    try {
      await dead.enqueue({ kind: 'job', key: 'a', payload: { name: 'again' }, maxAttempts: 2 })
      await dead.enqueue({ kind: 'job', key: 'b', payload: { name: 'last' }, maxAttempts: 1 })
      expect(await dead.claimJob('elsewhere:1:dead#1', 200)).toBeDefined()
      expect(await dead.claimJob('elsewhere:1:dead#2', 200)).toBeDefined()
    } finally {
      await dead.close()
    }
    live.start()
    await new Promise((r) => setTimeout(r, 300)) // the leases run out
    await live.recover() // or its poll did already
    await live.drain()
    expect(runs).toEqual(['again'])
    expect(failed).toHaveLength(1)
    expect(failed[0]).toMatch(/^last: the DevSys process running this job stopped/)
    const jobs = await live.listJobs()
    expect(jobs.map((j) => [j.payload, j.state, j.attempts])).toEqual([
      [{ name: 'again' }, 'done', 2],
      [{ name: 'last' }, 'failed', 1],
    ])
  })

  it("still shows a finished job once pg-boss's maintenance archived it", async () => {
    const store = openPgBossJobStore({ url: database.url })
    try {
      const job = jobOf(await store.enqueue({ kind: 'k', key: 'a', payload: { n: 1 } }))
      await store.claimJob('w1', 1000)
      expect(await store.completeJob(job.id, 'w1', done('ok'))).toBe(true)
      // Finished 13 hours ago: past pg-boss's archive interval (12 hours).
      await sql(
        `UPDATE devsys_queue.job SET completed_on = now() - interval '13 hours' WHERE id = $1`,
        [job.id],
      )
      await store.maintain()
      expect(await sql('SELECT id FROM devsys_queue.job')).toEqual([])
      expect(await sql('SELECT id FROM devsys_queue.archive')).toEqual([{ id: job.id }])
      expect(await store.getJob(job.id)).toMatchObject({ state: 'done', outcome: done('ok') })
      expect((await store.listJobs({ state: 'done' })).map((j) => j.id)).toEqual([job.id])
    } finally {
      await store.close()
    }
  })
})
