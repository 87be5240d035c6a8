import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { queueKind } from '../../src/queue/create-queue.js'
import { uuidV5 } from '../../src/queue/pg-boss-rows.js'
import { createPgBossQueue } from '../../src/queue/pg-boss-queue.js'
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
    }
    expect(queueKind(base)).toBe('in-process')
    expect(queueKind({ ...base, databaseUrl: 'postgres://u@h/db' })).toBe('pg-boss')
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
  const sql = async (text: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      return (await client.query(text, values)).rows as Record<string, unknown>[]
    } finally {
      await client.end()
    }
  }

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
})
