/**
 * The events of state changes: ids derived from the change (so a retried job publishes the same
 * event), and how a deploy or rollback job's end is read from the deploy history (a real
 * SQLite store).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NotificationEvent } from '../../src/notify/events.js'
import { publishDeployEnd } from '../../src/notify/publish-deploy-end.js'
import { routeEvent } from '../../src/notify/route-event.js'
import { acceptanceEvent, prOpened, testsCompleted } from '../../src/notify/state-events.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { newTask } from '../contracts/fixtures.js'
import { tempDir } from '../store/support.js'

let tmp: ReturnType<typeof tempDir>
let store: Store
let published: NotificationEvent[]
const notify = async (event: NotificationEvent) => {
  published.push(event)
}
beforeEach(() => {
  tmp = tempDir('devsys-events-')
  store = openSqliteStore({ dataDir: tmp.dir })
  published = []
})
afterEach(async () => {
  await store.close()
  tmp.remove()
})

const p = { repo: { fullName: 'acme/shop' }, installationId: 7 }
const deployment = {
  repo: 'acme/shop',
  environment: 'production',
  taskId: 'shop-api',
  trigger: 'merge' as const,
  actor: 'alice',
  commitSha: 'c0ffee0123456789',
  ref: 'main',
  jobId: 'job-1',
}

describe('publishDeployEnd', () => {
  it('publishes how the job ended, once its record is closed', async () => {
    const record = await store.createDeployment(deployment)
    await publishDeployEnd({ store, notify }, p, 'job-1')
    expect(published).toEqual([])
    await store.updateDeployment(record.id, { state: 'success', url: 'https://shop.example.com/' })
    await publishDeployEnd({ store, notify }, p, 'job-1')
    expect(published).toMatchObject([
      {
        id: `deploy.succeeded:acme/shop:deployment-${record.id}`,
        type: 'deploy.succeeded',
        environment: 'production',
        installationId: 7,
        url: 'https://shop.example.com/',
        title: 'shop-api deployed to production',
      },
    ])
    // Published again (a retried job), it is the same event.
    await publishDeployEnd({ store, notify }, p, 'job-1')
    expect(published[1]?.id).toBe(published[0]?.id)
  })

  it('a failed deploy is deploy.failed with its error; a rollback is rollback; no record, no event', async () => {
    const failed = await store.createDeployment({ ...deployment, jobId: 'job-2' })
    await store.updateDeployment(failed.id, {
      state: 'failure',
      error: 'acceptance failed: GET / 500',
    })
    await store.createDeployment({
      ...deployment,
      trigger: 'rollback',
      rollbackOf: failed.id,
      state: 'success',
      jobId: 'job-3',
    })
    await publishDeployEnd({ store, notify }, p, 'job-2')
    await publishDeployEnd({ store, notify }, p, 'job-3')
    await publishDeployEnd({ store, notify }, p, 'job-none')
    await publishDeployEnd({ store }, p, 'job-2')
    expect(published.map((e) => [e.type, e.details.error ?? null])).toEqual([
      ['deploy.failed', 'acceptance failed: GET / 500'],
      ['rollback', null],
    ])
  })
})

describe('state events', () => {
  it('tests: passed or failed per run; a run still going is no event', async () => {
    const saved = await store.saveTask(newTask())
    if (saved.kind !== 'created') throw new Error('not created')
    const run = await store.startTestRun({ task: saved.task, headSha: 'abc1234def', checkRunId: 5 })
    expect(testsCompleted(run, { installationId: 7 })).toBeUndefined()
    const done = await store.updateTestRun(run.id, {
      state: 'completed',
      conclusion: 'failure',
      summary: { tests: 16, failed: 2 },
    })
    expect(
      testsCompleted(done, { installationId: 7, url: 'https://github.com/acme/shop/pull/3' }),
    ).toMatchObject({
      id: `tests.failed:acme/shop:run-${run.id}`,
      type: 'tests.failed',
      task: 'shop-api',
      details: { tests: 16, failed: 2, conclusion: 'failure' },
    })
  })

  it('task accepted per revision, none when unchanged; a PR once per number', async () => {
    const saved = await store.saveTask(newTask())
    if (saved.kind !== 'created') throw new Error('not created')
    const where = { repo: 'acme/shop', installationId: 7, source: 'issue #12' }
    const accepted = { kind: 'saved' as const, result: 'created' as const, task: saved.task }
    expect(acceptanceEvent(where, 'x', accepted)?.id).toBe('task.accepted:acme/shop:shop-api@1')
    expect(acceptanceEvent(where, 'x', { ...accepted, result: 'unchanged' })).toBeUndefined()
    const refused = acceptanceEvent(where, 'issue-12@abc', { kind: 'invalid', problems: [] })
    expect(refused).toMatchObject({
      id: 'task.rejected:acme/shop:issue-12@abc',
      type: 'task.rejected',
    })
    expect(prOpened(saved.task, { number: 3, url: 'https://github.com/acme/shop/pull/3' }).id).toBe(
      'pr.opened:acme/shop:#3',
    )
  })

  it('routes by event and environment; events of no environment pass an environment filter', () => {
    const subscriptions = [
      {
        events: ['deploy.failed' as const, 'tests.failed' as const],
        environments: ['production'],
        destinations: ['slack'],
      },
      { events: ['deploy.failed' as const], destinations: ['email', 'slack'] },
    ]
    expect(routeEvent({ type: 'deploy.failed', environment: 'production' }, subscriptions)).toEqual(
      ['slack', 'email'],
    )
    expect(routeEvent({ type: 'deploy.failed', environment: 'staging' }, subscriptions)).toEqual([
      'email',
      'slack',
    ])
    expect(routeEvent({ type: 'tests.failed', environment: null }, subscriptions)).toEqual([
      'slack',
    ])
    expect(routeEvent({ type: 'rollback', environment: 'production' }, subscriptions)).toEqual([])
  })
})
