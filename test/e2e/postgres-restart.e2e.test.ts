/**
 * Issue 13, item 6: PostgreSQL restarts while a receiver and a worker run on it (an upgrade, a
 * failover, a crash). While it is down the receiver answers webhooks 503 with Retry-After: not
 * 2xx, which would acknowledge a delivery it could not store, and not 500. Every delivery
 * answered 2xx, before or after, is processed once the server is back, by the same worker
 * process (it reconnects, nobody restarts it); a delivery answered 503 was not stored, and is
 * accepted and processed when it is sent again.
 *
 * The server is a private one (test/helpers/private-postgres.ts): the shared test server serves
 * other tests and is never restarted.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WEBHOOK_RETRY_AFTER_SECONDS } from '../../src/start-receiver.js'
import { ENQUEUE_TIMEOUT_MS } from '../../src/webhooks/enqueue-trigger.js'
import { httpRequest } from '../helpers/http.js'
import {
  type PrivatePostgres,
  requirePrivatePostgres,
  startPrivatePostgres,
} from '../helpers/private-postgres.js'
import type { DevsysProcess } from './devsys-process.js'
import { useE2eWorld } from './e2e-world.js'
import { commentsOn, labeledIssuePayload, logLines, waitUntil } from './scenario-steps.js'

const hasServer = requirePrivatePostgres('PostgreSQL is stopped and started during the test')
/** A manifest DevSys rejects: its intake answers on the issue, a visible end of processing. */
const BAD_MANIFEST = JSON.stringify({ id: 'Not A Valid Id!' })

const world = useE2eWorld()
let server: PrivatePostgres | undefined
beforeAll(async () => {
  if (hasServer) server = await startPrivatePostgres()
}, 60_000)
afterAll(async () => {
  await server?.destroy()
})

/** A labeled issue of its own (number), sent to `receiver` under `delivery`. */
function sendIssue(receiver: DevsysProcess, issue: number, delivery: string) {
  const payload = labeledIssuePayload(BAD_MANIFEST, world.cloneUrl)
  payload.issue.number = issue
  return receiver.sendWebhook('issues', payload, delivery)
}

describe.skipIf(!hasServer)('PostgreSQL restarted mid-run', () => {
  it('receivers answer 503 with Retry-After while it is down; nothing acknowledged is lost; the worker reconnects', {
    timeout: 240_000,
  }, async () => {
    const pg = server as PrivatePostgres
    const url = await pg.createDatabase(`devsys_restart_${randomUUID().slice(0, 8)}`)
    const env = { DATABASE_URL: url, LOG_LEVEL: 'info' }
    const receiver = await world.startDevsys({ env: { ...env, DEVSYS_ROLE: 'receiver' } })
    const worker = await world.startDevsys({
      env: { ...env, DEVSYS_ROLE: 'worker', DEVSYS_QUEUES: 'generate' },
    })
    const processed = (issue: number) => commentsOn(world, issue).length > 0
    const sent = new Map<number, string>() // issue → delivery

    // 1. Before: accepted and processed.
    for (const issue of [1, 2]) {
      sent.set(issue, randomUUID())
      const answer = await sendIssue(receiver, issue, sent.get(issue) as string)
      expect(answer.status, answer.text).toBe(200)
    }
    await waitUntil(world, () => processed(1) && processed(2), 'the intake of issues 1 and 2')

    // 2. Down: every delivery is answered 503, saying why and when to try again.
    await pg.stop()
    for (const issue of [3, 4]) {
      sent.set(issue, randomUUID())
      const answer = await sendIssue(receiver, issue, sent.get(issue) as string)
      expect(answer.status, answer.text).toBe(503)
      expect(answer.headers['retry-after']).toBe(String(WEBHOOK_RETRY_AFTER_SECONDS))
      expect(answer.json<{ error: string }>().error).toContain(
        `DevSys could not store delivery ${sent.get(issue)} (issues)`,
      )
    }
    // Both processes stay up while it is down; the worker keeps trying.
    for (const p of [receiver, worker]) {
      expect((await httpRequest(`http://127.0.0.1:${p.port}/api/health`)).status).toBe(200)
    }
    await waitUntil(
      world,
      () =>
        logLines(worker).some(
          (l) => l.msg === 'Claiming a job failed; trying again at the next poll',
        ),
      'the worker noticing the database is gone',
      15_000,
    )

    // 3. Back: accepted again at once, and processed by the same worker process.
    await pg.start()
    for (const issue of [5, 6]) {
      sent.set(issue, randomUUID())
      const answer = await sendIssue(receiver, issue, sent.get(issue) as string)
      expect(answer.status, answer.text).toBe(200)
    }
    await waitUntil(
      world,
      () => processed(5) && processed(6),
      'the intake of issues 5 and 6',
      60_000,
    )
    // The deliveries answered 503 were not stored, so nothing ran for them…
    expect(processed(3) || processed(4)).toBe(false)
    const database = new URL(url).pathname.slice(1)
    const storedJobs = async () =>
      (
        await pg.query(
          database,
          `SELECT d.id, j.state, j.data->>'lockedBy' AS locked_by
           FROM devsys_queue.delivery d JOIN devsys_queue.job j ON j.id = d.job_id`,
        )
      ).rows as { id: string; state: string; locked_by: string }[]
    // The job is completed just after its comment is sent (on a busy machine that can take a
    // while: the worker's pool replaces the connections the restart broke as it goes).
    let stored = await storedJobs()
    for (let tries = 0; stored.some((r) => r.state !== 'completed') && tries < 120; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      stored = await storedJobs()
    }
    expect(stored.map((r) => r.id).sort()).toEqual([1, 2, 5, 6].map((i) => sent.get(i)).sort())
    for (const row of stored) {
      expect(row.state).toBe('completed')
      expect(row.locked_by).toContain(`:${worker.pid}:`)
    }
    // …and sent again (as GitHub's redelivery does) they are accepted and processed.
    for (const issue of [3, 4]) {
      const answer = await sendIssue(receiver, issue, sent.get(issue) as string)
      expect(answer.status, answer.text).toBe(200)
    }
    await waitUntil(
      world,
      () => processed(3) && processed(4),
      'the intake of issues 3 and 4',
      60_000,
    )
    for (const issue of [1, 2, 3, 4, 5, 6]) expect(commentsOn(world, issue)).toHaveLength(1)
    expect(world.github.problems()).toEqual([])
  })

  it('a hung server: the receiver answers 503 before Probot’s 202, and the delivery sent again runs once', {
    timeout: 120_000,
  }, async () => {
    const pg = server as PrivatePostgres
    const url = await pg.createDatabase(`devsys_hung_${randomUUID().slice(0, 8)}`)
    const env = { DATABASE_URL: url, LOG_LEVEL: 'info' }
    const receiver = await world.startDevsys({ env: { ...env, DEVSYS_ROLE: 'receiver' } })
    await world.startDevsys({ env: { ...env, DEVSYS_ROLE: 'worker', DEVSYS_QUEUES: 'generate' } })
    const processed = (issue: number) => commentsOn(world, issue).length > 0
    expect((await sendIssue(receiver, 1, randomUUID())).status).toBe(200)
    await waitUntil(world, () => processed(1), 'the intake of issue 1')

    // Frozen: connections stay open and nothing answers.
    const delivery = randomUUID()
    pg.freeze()
    let answer: Awaited<ReturnType<typeof sendIssue>>
    const sent = Date.now()
    try {
      answer = await sendIssue(receiver, 2, delivery)
    } finally {
      pg.thaw()
    }
    expect(answer.status, answer.text).toBe(503)
    expect(Date.now() - sent).toBeGreaterThanOrEqual(ENQUEUE_TIMEOUT_MS - 100)
    expect(answer.headers['retry-after']).toBe(String(WEBHOOK_RETRY_AFTER_SECONDS))

    // Sent again once the server answers: accepted (stored now, or recognised as stored by the
    // enqueue that finished after its 503), and run once.
    const again = await sendIssue(receiver, 2, delivery)
    expect(again.status, again.text).toBe(200)
    await waitUntil(world, () => processed(2), 'the intake of issue 2', 60_000)
    const jobs = await pg.query(
      new URL(url).pathname.slice(1),
      `SELECT count(*)::int AS n FROM devsys_queue.job WHERE data->>'deliveryId' = '${delivery}'`,
    )
    expect(jobs.rows[0]).toEqual({ n: 1 })
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(commentsOn(world, 2)).toHaveLength(1)
  })
})
