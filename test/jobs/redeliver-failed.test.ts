/**
 * The redeliver-failed job against a real Probot (app-authenticated, JWT), nock for GitHub's
 * delivery log, and the in-process queue over SQLite, so `hasDelivery` and the once-per-guid
 * claim are the real ones.
 */
import nock from 'nock'
import type { Probot } from 'probot'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createRedeliverFailedJob,
  REDELIVER_FAILED,
  redeliverySchedule,
} from '../../src/jobs/redeliver-failed.js'
import { createInProcessQueue } from '../../src/queue/in-process-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { REDELIVER_SCAN_KEY } from '../../src/triggers/job-payloads.js'
import { subscriptions } from '../../src/webhooks/index.js'
import { createTestProbot, GITHUB_API, githubRequests, useGitHubMock } from '../helpers/github.js'
import { inProcessTimings } from '../queue/queue-fixture.js'
import { capturingLog, tempDir } from '../store/support.js'

useGitHubMock()

const HANDLED = subscriptions.flatMap((s) => s.events)
const INTERVAL_MS = 300_000

interface Attempt {
  id: number
  guid: string
  minutesAgo: number
  status: number
  event?: string
  action?: string | null
}

/** A delivery attempt as GET /app/hook/deliveries lists it (GitHub's `hook-delivery-item`). */
function item(a: Attempt) {
  return {
    id: a.id,
    guid: a.guid,
    delivered_at: new Date(Date.now() - a.minutesAgo * 60_000).toISOString(),
    redelivery: false,
    duration: 0.1,
    status: a.status === 0 ? 'failed to connect' : String(a.status),
    status_code: a.status,
    event: a.event ?? 'issues',
    action: a.action === undefined ? 'labeled' : a.action,
    installation_id: 7,
    repository_id: 42,
    throttled_at: null,
  }
}

/** Mocks one page of the app's delivery log (newest first); `next` is the cursor of the page after. */
function nockListDeliveries(
  attempts: Attempt[],
  opts: { cursor?: string; next?: string; status?: number } = {},
): nock.Scope {
  const query = { per_page: '100', ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) }
  const headers =
    opts.next === undefined
      ? {}
      : { link: `<${GITHUB_API}/app/hook/deliveries?per_page=100&cursor=${opts.next}>; rel="next"` }
  const scope = nock(GITHUB_API).get('/app/hook/deliveries').query(query)
  if (opts.status !== undefined) {
    return scope.reply(opts.status, {
      message: 'Server Error',
      documentation_url: '',
      status: '500',
    })
  }
  return scope.reply(200, attempts.map(item), headers)
}

/** Mocks the redelivery of one attempt (POST /app/hook/deliveries/{id}/attempts). */
function nockRedeliver(id: number, status = 202): nock.Scope {
  return nock(GITHUB_API)
    .post(`/app/hook/deliveries/${id}/attempts`)
    .reply(status, status === 202 ? {} : { message: 'Not Found', documentation_url: '' })
}

const redeliveries = () =>
  githubRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/attempts'))

let probot: Probot
let tmp: ReturnType<typeof tempDir>
let queues: Queue[]
let logs: ReturnType<typeof capturingLog>

beforeEach(async () => {
  probot = await createTestProbot()
  tmp = tempDir('devsys-redeliver-')
  queues = []
  logs = capturingLog()
})

afterEach(async () => {
  for (const queue of queues) await queue.close()
  tmp.remove()
})

/** One DevSys process: a queue over the shared SQLite state running the redeliver-failed job. */
function openProcess(opts: { maxPerRun?: number } = {}): Queue {
  const queue: Queue = createInProcessQueue({
    jobs: openSqliteJobStore({ dataDir: tmp.dir }),
    ...inProcessTimings(),
    log: logs.log,
    maxAttempts: 2,
    // Jobs of other kinds (the stored webhooks' jobs) stay queued, as on a monitor-only worker.
    ownKindsOnly: true,
    handlers: [
      createRedeliverFailedJob({
        auth: (installationId) => probot.auth(installationId),
        enqueue: (job, options) => queue.enqueue(job, options),
        hasDelivery: (id) => queue.hasDelivery(id),
        handledEvents: HANDLED,
        intervalMs: INTERVAL_MS,
        ...opts,
      }),
    ],
  })
  queues.push(queue)
  return queue
}

/** Runs one scan (as one schedule slot would) and everything it enqueues. */
async function scan(queue: Queue, slot = 1): Promise<void> {
  await queue.enqueue(
    { kind: REDELIVER_FAILED, key: REDELIVER_SCAN_KEY, payload: { scan: true } },
    { delivery: { id: `schedule:${REDELIVER_FAILED}:${slot}`, event: 'schedule' } },
  )
  queue.start()
  await queue.drain()
}

/** Records a webhook delivery in the queue, as the receiver does when it stores its job. */
async function store(queue: Queue, guid: string): Promise<void> {
  await queue.enqueue(
    { kind: 'intake-issue', key: `intake:${guid}`, payload: {} },
    { delivery: { id: guid, event: 'issues' } },
  )
}

describe('redeliver-failed', () => {
  it('redelivers a failed delivery DevSys never stored, once, on its newest failed attempt', async () => {
    const queue = openProcess()
    nockListDeliveries([
      { id: 12, guid: 'g-1', minutesAgo: 2, status: 502 },
      { id: 11, guid: 'g-1', minutesAgo: 3, status: 0 },
    ])
    const post = nockRedeliver(12)
    await scan(queue)
    expect(post.isDone()).toBe(true)
    expect(redeliveries().map((r) => r.path)).toEqual(['/app/hook/deliveries/12/attempts'])
    const jobs = await queue.listJobs({ kind: REDELIVER_FAILED })
    expect(jobs.map((j) => [j.deliveryId, j.state])).toEqual([
      ['schedule:redeliver-failed:1', 'done'],
      ['redeliver:g-1', 'done'],
    ])
    expect(jobs[0]?.outcome).toMatchObject({
      status: 'done',
      details: { attempts: 2, failed: 1, stored: 0, redelivering: ['g-1'], left: 0 },
    })
  })

  it('leaves alone a guid with a later successful attempt, one DevSys stored, and unhandled events', async () => {
    const queue = openProcess()
    await store(queue, 'g-stored')
    nockListDeliveries([
      { id: 25, guid: 'g-ok', minutesAgo: 1, status: 200 },
      { id: 24, guid: 'g-ok', minutesAgo: 2, status: 500 },
      // Stored by DevSys, yet GitHub logged a timeout: it was handled.
      { id: 23, guid: 'g-stored', minutesAgo: 3, status: 0 },
      // Events and actions DevSys does not subscribe to.
      { id: 22, guid: 'g-star', minutesAgo: 4, status: 500, event: 'star', action: 'created' },
      { id: 21, guid: 'g-closed', minutesAgo: 5, status: 500, action: 'closed' },
      { id: 20, guid: 'g-ping', minutesAgo: 6, status: 500, event: 'ping', action: null },
    ])
    await scan(queue)
    expect(redeliveries()).toEqual([])
    const [run] = await queue.listJobs({ kind: REDELIVER_FAILED })
    expect(run?.outcome).toMatchObject({ details: { failed: 1, stored: 1, redelivering: [] } })
  })

  it('redelivers handled events whole (push) and by action (issue_comment.created)', async () => {
    const queue = openProcess()
    nockListDeliveries([
      { id: 32, guid: 'g-push', minutesAgo: 1, status: 500, event: 'push', action: null },
      {
        id: 31,
        guid: 'g-comment',
        minutesAgo: 2,
        status: 504,
        event: 'issue_comment',
        action: 'created',
      },
    ])
    nockRedeliver(32)
    nockRedeliver(31)
    await scan(queue)
    expect(
      redeliveries()
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/app/hook/deliveries/31/attempts', '/app/hook/deliveries/32/attempts'])
  })

  it('follows the cursor of the Link header, and stops at the window', async () => {
    const queue = openProcess()
    nockListDeliveries([{ id: 42, guid: 'g-new', minutesAgo: 1, status: 200 }], { next: 'c-2' })
    nockListDeliveries([{ id: 41, guid: 'g-mid', minutesAgo: 30, status: 500 }], {
      cursor: 'c-2',
      next: 'c-3',
    })
    // Older than the window (two intervals, at least an hour): not redelivered, and the page
    // after it (c-4) is not asked for.
    nockListDeliveries([{ id: 40, guid: 'g-old', minutesAgo: 90, status: 500 }], {
      cursor: 'c-3',
      next: 'c-4',
    })
    nockRedeliver(41)
    await scan(queue)
    expect(githubRequests().map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /app/hook/deliveries?per_page=100',
      'GET /app/hook/deliveries?per_page=100&cursor=c-2',
      'GET /app/hook/deliveries?per_page=100&cursor=c-3',
      'POST /app/hook/deliveries/41/attempts',
    ])
  })

  it('never redelivers a guid twice: not on the next scan, nor from another process', async () => {
    const first = openProcess()
    nockListDeliveries([{ id: 51, guid: 'g-1', minutesAgo: 5, status: 503 }])
    nockRedeliver(51)
    await scan(first, 1)
    expect(redeliveries()).toHaveLength(1)

    // The redelivery failed too: its own attempt is in the log, newest.
    const log = [
      { id: 52, guid: 'g-1', minutesAgo: 1, status: 503 },
      { id: 51, guid: 'g-1', minutesAgo: 5, status: 503 },
    ]
    nockListDeliveries(log)
    await scan(first, 2)
    const second = openProcess()
    nockListDeliveries(log)
    await scan(second, 3)
    expect(redeliveries()).toHaveLength(1)
    const runs = await second.listJobs({ kind: REDELIVER_FAILED })
    expect(runs.map((j) => j.deliveryId)).toEqual([
      'schedule:redeliver-failed:1',
      'redeliver:g-1',
      'schedule:redeliver-failed:2',
      'schedule:redeliver-failed:3',
    ])
    expect(runs[3]?.outcome).toMatchObject({
      details: { failed: 1, stored: 0, redeliveredBefore: 1, redelivering: [] },
    })
  })

  it('claims at most maxPerRun per scan and logs the rest for the next', async () => {
    const queue = openProcess({ maxPerRun: 1 })
    nockListDeliveries([
      { id: 62, guid: 'g-b', minutesAgo: 1, status: 500 },
      { id: 61, guid: 'g-a', minutesAgo: 2, status: 500 },
    ])
    nockRedeliver(62)
    await scan(queue)
    expect(redeliveries().map((r) => r.path)).toEqual(['/app/hook/deliveries/62/attempts'])
    const warning = logs.lines.find((line) => line.includes('More failed deliveries'))
    expect(JSON.parse(warning ?? '{}')).toMatchObject({ left: 1, max: 1, guids: ['g-a'] })
  })

  it('fails a scan whose listing GitHub answers 5xx with a clear error, and retries it', async () => {
    const queue = openProcess()
    nockListDeliveries([], { status: 500 })
    nockListDeliveries([{ id: 71, guid: 'g-1', minutesAgo: 1, status: 500 }])
    nockRedeliver(71)
    await scan(queue)
    const [run] = await queue.listJobs({ kind: REDELIVER_FAILED })
    expect(run).toMatchObject({ state: 'done', attempts: 2 })
    expect(run?.lastError).toContain(
      "Listing the app's webhook deliveries (GET /app/hook/deliveries) failed: 500",
    )
    expect(logs.lines.some((line) => line.includes('Job failed; will retry'))).toBe(true)
    expect(redeliveries()).toHaveLength(1)
  })

  it('fails a scan for good after its attempts when GitHub keeps answering 4xx, and keeps running', async () => {
    const queue = openProcess()
    nockListDeliveries([], { status: 401 })
    nockListDeliveries([], { status: 401 })
    await scan(queue)
    const [run] = await queue.listJobs({ kind: REDELIVER_FAILED })
    expect(run).toMatchObject({ state: 'failed', attempts: 2 })
    expect(run?.lastError).toContain(
      "Listing the app's webhook deliveries (GET /app/hook/deliveries) failed: 401",
    )
    const failed = logs.lines.find((line) => line.includes('Job failed for good'))
    expect(failed).toContain('check the App')
    // The queue goes on: the next slot's scan runs.
    nockListDeliveries([])
    await scan(queue, 2)
    const runs = await queue.listJobs({ kind: REDELIVER_FAILED, state: 'done' })
    expect(runs.map((j) => j.deliveryId)).toEqual(['schedule:redeliver-failed:2'])
  })

  it('retries a redelivery GitHub answers 5xx, and stops at one it refuses (gone)', async () => {
    const queue = openProcess()
    nockListDeliveries([
      { id: 82, guid: 'g-retry', minutesAgo: 1, status: 500 },
      { id: 81, guid: 'g-gone', minutesAgo: 2, status: 500 },
    ])
    nockRedeliver(82, 502)
    nockRedeliver(82)
    nockRedeliver(81, 404)
    await scan(queue)
    const jobs = await queue.listJobs({ kind: REDELIVER_FAILED })
    const byClaim = Object.fromEntries(jobs.map((j) => [j.deliveryId, j]))
    expect(byClaim['redeliver:g-retry']).toMatchObject({ state: 'done', attempts: 2 })
    expect(byClaim['redeliver:g-gone']).toMatchObject({
      state: 'done',
      attempts: 1,
      outcome: { status: 'skipped', reason: 'refused' },
    })
  })

  it('is scheduled every interval under its own key, so scans never overlap', () => {
    expect(redeliverySchedule(60_000)).toEqual({
      name: 'redeliver-failed',
      everyMs: 60_000,
      job: { kind: 'redeliver-failed', key: 'redeliver-failed', payload: { scan: true } },
    })
  })
})
