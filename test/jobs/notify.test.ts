/**
 * The notify job on the in-process queue over SQLite, a real Probot (installation tokens and the
 * repo config through nock, checked against GitHub's OpenAPI description), a real SQLite store
 * and a webhook receiver on loopback: exactly one delivery per state change, retries by the
 * queue, and subscriptions read from `.github/devsys.yml`.
 */
import type { Probot } from 'probot'
import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Destination } from '../../src/config/notify-destinations.js'
import { createNotifyJob } from '../../src/jobs/notify.js'
import { type Channels, createChannels } from '../../src/notify/channels.js'
import { notificationEvent } from '../../src/notify/events.js'
import { queueNotifier } from '../../src/notify/queue-notifier.js'
import { createInProcessQueue } from '../../src/queue/in-process-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { parseAllowedHosts } from '../../src/verify/parse-allowed-hosts.js'
import { nockGetContent } from '../helpers/github-endpoints.js'
import { createTestProbot, useGitHubMock } from '../helpers/github.js'
import { type HttpReceiver, startHttpReceiver } from '../notify/receivers.js'
import { inProcessTimings } from '../queue/queue-fixture.js'
import { capturingLog, tempDir } from '../store/support.js'

useGitHubMock()

const SECRET = `whsec_${Buffer.from('devsys-notify-test-secret-32-byt').toString('base64')}`
const CONFIG = `notifications:
  - events: [deploy.succeeded, deploy.failed]
    environments: [production]
    destinations: [webhook, pager]
`

/** The repo config as the notify job reads it: once per run. */
function nockConfig(times = 1, text = CONFIG) {
  for (let i = 0; i < times; i++) nockGetContent('acme', 'shop', '.github/devsys.yml', null, text)
}

const event = (environment = 'production') =>
  notificationEvent(
    'deploy.succeeded',
    { repo: 'acme/shop', installationId: 7, environment, task: 'shop-api' },
    'deployment-42',
    { title: `shop-api deployed to ${environment}`, url: 'https://shop.example.com/' },
  )

let probot: Probot
let tmp: ReturnType<typeof tempDir>
let store: Store
let channels: Channels
let hook: HttpReceiver
let queues: Queue[]
let logs: ReturnType<typeof capturingLog>

beforeEach(async () => {
  probot = await createTestProbot()
  tmp = tempDir('devsys-notify-job-')
  store = openSqliteStore({ dataDir: tmp.dir })
  const allowed = parseAllowedHosts('127.0.0.1')
  if (!allowed.ok) throw new Error('bad allow-list')
  channels = createChannels({ reach: { allowed: allowed.list } })
  queues = []
  logs = capturingLog()
})

afterEach(async () => {
  for (const queue of queues) await queue.close()
  channels.close()
  await hook?.close()
  await store.close()
  tmp.remove()
})

/** A DevSys process running notify jobs for the server destinations given. */
function openQueue(destinations: Destination[], attempts = 3): Queue {
  const queue: Queue = createInProcessQueue({
    jobs: openSqliteJobStore({ dataDir: tmp.dir }),
    ...inProcessTimings(),
    log: logs.log,
    handlers: [
      createNotifyJob({
        store,
        auth: (installationId) => probot.auth(installationId),
        channels,
        destinations,
        enqueue: (job, options) => queue.enqueue(job, options),
        // Milliseconds instead of DevSys's 10 s to 1 h, so a test sees the retries.
        retry: { baseMs: 20, maxMs: 40, attempts },
      }),
    ],
  })
  queues.push(queue)
  return queue
}

/** Drains the queue, also of the delayed attempts notify jobs queue for themselves. */
async function settle(queue: Queue): Promise<void> {
  for (;;) {
    await queue.drain()
    if ((await queue.listJobs({ state: 'queued' })).length === 0) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const webhook = (url: string): Destination => ({
  name: 'webhook',
  channel: 'webhook',
  url,
  secret: SECRET,
})

describe('the notify job', () => {
  it('delivers one state change once: published twice, and its job run again, it sends one message', async () => {
    hook = await startHttpReceiver()
    nockConfig(2)
    const queue = openQueue([webhook(hook.url)])
    const notifier = queueNotifier((job, options) => queue.enqueue(job, options))
    // A retried deploy job publishes its state change again: the second publish writes nothing.
    await notifier.publish(event())
    await notifier.publish(event())
    queue.start()
    await settle(queue)
    expect(await queue.listJobs({ kind: 'notify' })).toHaveLength(1)
    expect(hook.received).toHaveLength(1)
    const sent = hook.received[0]
    expect(
      new Webhook(SECRET).verify(sent?.body ?? '', sent?.headers as Record<string, string>),
    ).toMatchObject({ type: 'deploy.succeeded', data: { id: event().id } })
    // The job itself run again (a lease lost after sending): the store's row says delivered.
    await queue.enqueue({ kind: 'notify', key: 'notify:again', payload: { event: event() } })
    await settle(queue)
    expect(hook.received).toHaveLength(1)
    const jobs = await queue.listJobs({ kind: 'notify' })
    expect(jobs.map((j) => j.state)).toEqual(['done', 'done'])
    expect(await store.listNotifications()).toMatchObject([
      { eventId: event().id, destination: 'webhook', status: 'delivered', attempts: 1 },
    ])
    // `pager` is subscribed to but not configured on this server: said in the log.
    expect(logs.lines.join('')).toContain(
      "names destination 'pager', which this DevSys server does not configure",
    )
  })

  it('after a 5xx the job queues its next attempt with backoff; delivered once', async () => {
    hook = await startHttpReceiver((n) => ({ status: n === 0 ? 503 : 204 }))
    nockConfig(2)
    const queue = openQueue([webhook(hook.url)])
    await queueNotifier((job, options) => queue.enqueue(job, options)).publish(event())
    queue.start()
    await settle(queue)
    expect(hook.received).toHaveLength(2)
    // The first attempt queued the second, delayed with backoff.
    const jobs = await queue.listJobs({ kind: 'notify' })
    expect(jobs.map((j) => [j.state, (j.payload as { attempt?: number }).attempt ?? 1])).toEqual([
      ['done', 1],
      ['done', 2],
    ])
    expect(jobs[0]?.outcome).toMatchObject({
      summary: expect.stringMatching(/attempt 2 for webhook in/),
    })
    expect((jobs[1]?.runAt ?? '') > (jobs[1]?.createdAt ?? '')).toBe(true)
    expect(await store.listNotifications()).toMatchObject([{ status: 'delivered', attempts: 2 }])
  })

  it('when the attempts are spent the delivery is recorded failed, with the last error', async () => {
    hook = await startHttpReceiver(() => ({ status: 500 }))
    nockConfig(2)
    const queue = openQueue([webhook(hook.url)], 2)
    await queueNotifier((job, options) => queue.enqueue(job, options)).publish(event())
    queue.start()
    await settle(queue)
    expect(hook.received).toHaveLength(2)
    // The last attempt queues no other; its outcome and the delivery log say what failed.
    expect(await queue.listJobs({ kind: 'notify' })).toMatchObject([
      { state: 'done' },
      { state: 'done', outcome: { status: 'rejected', reason: 'not-delivered' } },
    ])
    expect(await store.listNotifications()).toMatchObject([
      { status: 'failed', attempts: 2, lastError: 'the receiver answered 500' },
    ])
  })

  it('sends only what the repository subscribes to: another environment is not sent', async () => {
    hook = await startHttpReceiver()
    nockConfig(1)
    const queue = openQueue([webhook(hook.url)])
    await queueNotifier((job, options) => queue.enqueue(job, options)).publish(event('staging'))
    queue.start()
    await settle(queue)
    expect(hook.received).toHaveLength(0)
    expect(await queue.listJobs({ kind: 'notify' })).toMatchObject([
      { state: 'done', outcome: { status: 'skipped', reason: 'no-subscription' } },
    ])
    expect(await store.listNotifications()).toEqual([])
  })
})
