/**
 * Issue 13, item 6: two receivers (DEVSYS_ROLE=receiver) on one PostgreSQL database get the same
 * delivery (the same X-GitHub-Delivery) at the same moment, as a load balancer retrying on a
 * second receiver or a redelivery crossing the first attempt would make happen. Both answer
 * 2xx, and exactly one job is stored: the delivery row and its pg-boss job are written in one
 * transaction, and the second receiver's insert of the delivery waits for the first and then
 * writes nothing.
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { holdingGitHub } from '../helpers/holding-github.js'
import { examplePayload } from '../helpers/payloads.js'
import { createTestDatabase, requirePostgres } from '../helpers/postgres.js'
import { type DevsysProcess, startDevsysProcess } from './devsys-process.js'
import { logLines } from './scenario-steps.js'

const postgres = await requirePostgres('two receivers share one PostgreSQL queue')
const ROUNDS = 8

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe.skipIf(!postgres)('two receivers, one delivery at the same moment', () => {
  it('both answer 2xx and one job is stored per delivery', { timeout: 120_000 }, async () => {
    const github = await holdingGitHub()
    cleanups.push(() => github.close())
    const database = await createTestDatabase()
    cleanups.push(() => database.drop())
    const env = { DEVSYS_ROLE: 'receiver', DATABASE_URL: database.url, LOG_FORMAT: 'json' }
    const receivers: DevsysProcess[] = []
    for (let i = 0; i < 2; i++) {
      const receiver = await startDevsysProcess({ gheHost: github.host, env })
      cleanups.push(() => receiver.stop())
      receivers.push(receiver)
    }

    // One labeled issue per round (its own job key), sent to both receivers at once.
    const deliveries: string[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      const delivery = randomUUID()
      deliveries.push(delivery)
      const payload = examplePayload('issues', 'labeled', (p) => {
        p.issue.number = 100 + round
      })
      const answers = await Promise.all(
        receivers.map((r) => r.sendWebhook('issues', payload, delivery)),
      )
      for (const answer of answers) expect(answer.status, answer.text).toBe(200)
    }

    // Exactly one delivery row and one pg-boss job per delivery, the row naming its job.
    const rows = await database.asAdmin(
      `SELECT d.id AS delivery, j.id AS job, j.data->>'kind' AS kind, j.singleton_key AS key
       FROM devsys_queue.delivery d JOIN devsys_queue.job j ON j.id = d.job_id ORDER BY d.id`,
    )
    expect(rows.rows.map((r) => r.delivery)).toEqual([...deliveries].sort())
    const jobs = await database.asAdmin(
      `SELECT count(*)::int AS n, count(DISTINCT singleton_key)::int AS keys
       FROM devsys_queue.job WHERE name = 'devsys'`,
    )
    expect(jobs.rows[0]).toEqual({ n: ROUNDS, keys: ROUNDS })
    expect(new Set(rows.rows.map((r) => r.kind))).toEqual(new Set(['intake-issue']))

    // Each delivery was stored by one receiver and recognised as a duplicate by the other.
    const results = receivers.flatMap((r) =>
      logLines(r)
        .filter((l) => l.msg === 'event queued')
        .map((l) => [l.delivery, l.result]),
    )
    for (const delivery of deliveries) {
      const of = results.filter(([d]) => d === delivery).map(([, result]) => result)
      expect(of.sort()).toEqual(['duplicate-delivery', 'enqueued'])
    }
  })
})
