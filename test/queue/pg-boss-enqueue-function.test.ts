import pg from 'pg'
import PgBoss from 'pg-boss'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ENQUEUE_FUNCTION } from '../../src/queue/pg-boss-enqueue-function.js'
import { openPgBossJobStore, type PgBossJobStore } from '../../src/queue/pg-boss-job-store.js'
import { QueueUnavailableError } from '../../src/queue/queue-unavailable.js'
import { createTestDatabase, requirePostgres, type TestDatabase } from '../helpers/postgres.js'

const postgres = await requirePostgres('tests the pg-boss enqueue function')

describe.skipIf(!postgres)(
  "pg-boss enqueue: one statement per batch, a function in the queue's schema",
  () => {
    let database: TestDatabase
    let stores: PgBossJobStore[]
    const open = () => {
      const store = openPgBossJobStore({ url: database.url })
      stores.push(store)
      return store
    }
    const sql = async (text: string, values: unknown[] = []) =>
      (await database.asAdmin(text, values)).rows as Record<string, unknown>[]

    beforeEach(async () => {
      database = await createTestDatabase()
      stores = []
    })
    afterEach(async () => {
      for (const store of stores) await store.close()
      await database.drop()
    })

    it('is installed once when two processes start together, and both enqueue with it', async () => {
      const [a, b] = [open(), open()]
      await Promise.all([a.ready(), b.ready()])
      const functions = await sql(
        `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'devsys_queue' AND p.proname LIKE 'devsys_enqueue%'`,
      )
      expect(functions).toEqual([{ proname: ENQUEUE_FUNCTION }])
      const results = await Promise.all([
        a.enqueue({ kind: 'work', key: 'k:1', payload: { n: 1 } }, { id: 'd-1', event: 'issues' }),
        b.enqueue({ kind: 'work', key: 'k:2', payload: { n: 2 } }, { id: 'd-2', event: 'issues' }),
        b.enqueue({ kind: 'work', key: 'k:3', payload: { n: 3 } }, { id: 'd-1', event: 'issues' }),
      ])
      expect(results.map((r) => r.kind).sort()).toEqual([
        'duplicate-delivery',
        'enqueued',
        'enqueued',
      ])
      // d-1 was sent by both at once: whichever committed first has its job, the other none.
      const keys = (await a.listJobs()).map((j) => j.key).sort()
      expect([
        ['k:1', 'k:2'],
        ['k:2', 'k:3'],
      ]).toContainEqual(keys)
    })

    it('fails only the item PostgreSQL refuses (a payload jsonb cannot hold), and commits the rest', async () => {
      const store = open()
      await store.ready()
      const [good, bad, alsoGood] = await Promise.allSettled([
        store.enqueue({ kind: 'work', key: 'k:a', payload: 1 }, { id: 'e-1', event: 'issues' }),
        store.enqueue(
          { kind: 'work', key: 'k:b', payload: 'nul \u0000' },
          { id: 'e-2', event: 'issues' },
        ),
        store.enqueue({ kind: 'work', key: 'k:a', payload: 2 }, { id: 'e-3', event: 'issues' }),
      ])
      expect(good).toMatchObject({ status: 'fulfilled', value: { kind: 'enqueued' } })
      expect(alsoGood).toMatchObject({ status: 'fulfilled', value: { kind: 'coalesced' } })
      expect(bad.status).toBe('rejected')
      const reason = (bad as PromiseRejectedResult).reason as Error & { code?: string }
      expect(reason).not.toBeInstanceOf(QueueUnavailableError)
      expect(reason.code).toBe('22P05') // untranslatable character
      const jobs = await store.listJobs()
      expect(jobs.map((j) => [j.key, j.payload, j.deliveryId])).toEqual([['k:a', 2, 'e-3']])
      // The refused delivery was rolled back with its job, so GitHub's redelivery is accepted.
      expect(await store.hasDelivery('e-2')).toBe(false)
      expect(await store.hasDelivery('e-3')).toBe(true)
      const redelivered = await store.enqueue(
        { kind: 'work', key: 'k:b', payload: 'ok' },
        { id: 'e-2', event: 'issues' },
      )
      expect(redelivered.kind).toBe('enqueued')
    })

    it("inserts a job as pg-boss's send does, with the queue's settings", async () => {
      const store = open()
      await store.ready()
      await sql(
        `UPDATE devsys_queue.queue SET expire_seconds = 120, retention_minutes = 30, dead_letter = NULL
        WHERE name = 'devsys'`,
      )
      await store.enqueue({ kind: 'work', key: 'k:ours', payload: { a: 1 }, maxAttempts: 3 })
      const boss = new PgBoss({
        connectionString: database.url,
        schema: 'devsys_queue',
        supervise: false,
        schedule: false,
        migrate: false,
      })
      await boss.start()
      try {
        await boss.send(
          'devsys',
          { a: 1 },
          { singletonKey: 'k:boss', retryLimit: 2, retryDelay: 1, retryBackoff: true },
        )
      } finally {
        await boss.stop({ graceful: false })
      }
      const rows = await sql(
        `SELECT singleton_key, priority, state, singleton_on, dead_letter, expire_in::text,
          (keep_until - start_after)::text AS kept, retry_limit, retry_delay, retry_backoff, policy
        FROM devsys_queue.job ORDER BY singleton_key`,
      )
      const [sent, ours] = rows
      expect(ours).toMatchObject({
        singleton_key: 'k:ours',
        expire_in: '00:02:00',
        kept: '00:30:00',
      })
      expect({ ...ours, singleton_key: 'k:boss' }).toEqual(sent)
    })

    it('runs each enqueue of a batch again on its own when the batch deadlocks with another transaction', async () => {
      const store = open()
      await store.ready()
      // Another process holds key k:b and then waits for delivery x-1, which the batch inserted
      // before it waited for k:b: a deadlock, which PostgreSQL breaks by failing the batch.
      const other = new pg.Client({ connectionString: database.url })
      await other.connect()
      try {
        await other.query('BEGIN')
        await other.query(
          `SELECT pg_advisory_xact_lock(hashtext('devsys-queue'), hashtext('devsys:k:b'))`,
        )
        const results = Promise.all([
          store.enqueue({ kind: 'work', key: 'k:a', payload: 1 }, { id: 'x-1', event: 'issues' }),
          store.enqueue({ kind: 'work', key: 'k:b', payload: 2 }, { id: 'x-2', event: 'issues' }),
        ])
        await new Promise((resolve) => setTimeout(resolve, 300))
        await other.query(
          `INSERT INTO devsys_queue.delivery (id, event, received_at) VALUES ('x-1', 'issues', now())`,
        )
        await other.query('ROLLBACK')
        expect((await results).map((r) => r.kind)).toEqual(['enqueued', 'enqueued'])
      } finally {
        await other.end()
      }
      expect((await store.listJobs()).map((j) => [j.key, j.deliveryId])).toEqual([
        ['k:a', 'x-1'],
        ['k:b', 'x-2'],
      ])
    })
  },
)
