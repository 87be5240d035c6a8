/** Incidents the monitor opens and resolves become one notification each, queued once. */
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { IncidentEvent } from '../../src/monitor/incident-event.js'
import { tellIncident } from '../../src/notify/incident-notification.js'
import { queueNotifier } from '../../src/notify/queue-notifier.js'
import { createInProcessQueue } from '../../src/queue/in-process-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { silentLog, tempDir } from '../store/support.js'

let tmp: ReturnType<typeof tempDir>
let queue: Queue

beforeEach(() => {
  tmp = tempDir('devsys-incident-notify-')
  // Not started: the notify jobs stay queued for the test to read.
  queue = createInProcessQueue({
    jobs: openSqliteJobStore({ dataDir: tmp.dir }),
    handlers: [],
    log: silentLog,
  })
})
afterEach(async () => {
  await queue.close()
  tmp.remove()
})

const opened: IncidentEvent = {
  kind: 'incident.opened',
  repo: 'octo/blog',
  installationId: 1234,
  environment: 'production',
  issueNumber: 77,
  issueUrl: 'https://github.com/octo/blog/issues/77',
  at: '2026-06-01T12:01:00.000Z',
  failures: [{ id: 'home', request: 'GET /', status: 500, expected: 200, problems: ['status'] }],
  deployment: { id: 42, commitSha: 'a'.repeat(40), taskId: 'blog', pullRequest: 5 },
  autoRollback: false,
}
const resolved: IncidentEvent = {
  kind: 'incident.resolved',
  repo: 'octo/blog',
  installationId: 1234,
  environment: 'production',
  issueNumber: 77,
  at: '2026-06-01T12:03:45.000Z',
  downtimeMs: 165_000,
}

it('queues one notify job per incident change, however often the monitor tells it, and tells the listener too', async () => {
  const heard: string[] = []
  const tell = tellIncident(
    (event) => void heard.push(event.kind),
    queueNotifier((job, options) => queue.enqueue(job, options)).publish,
  )
  await tell(opened)
  await tell(opened)
  await tell(resolved)
  expect(heard).toEqual(['incident.opened', 'incident.opened', 'incident.resolved'])
  const jobs = await queue.listJobs({ kind: 'notify' })
  const events = jobs.map((job) => (job.payload as { event: Record<string, unknown> }).event)
  expect(events).toMatchObject([
    {
      id: 'incident.opened:octo/blog:77',
      installationId: 1234,
      environment: 'production',
      title: 'production of octo/blog is down: home',
      url: 'https://github.com/octo/blog/issues/77',
      details: { issue: 77, commit: 'aaaaaaaaaaaa', pullRequest: 5, autoRollback: false },
    },
    {
      id: 'incident.resolved:octo/blog:77',
      title: 'production of octo/blog is up again',
      details: { downtime: '2 min 45 s' },
    },
  ])
})

it('without destinations (no notify) only the listener hears', async () => {
  const heard: string[] = []
  await tellIncident((event) => void heard.push(event.kind), undefined)(opened)
  expect(heard).toEqual(['incident.opened'])
  expect(await queue.listJobs()).toEqual([])
})
