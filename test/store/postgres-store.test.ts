import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres-store.js'
import { type NewTask, taskSubject } from '../../src/store/store.js'
import { createTestDatabase, requirePostgres, type TestDatabase } from '../helpers/postgres.js'

const postgres = await requirePostgres('checks the PostgreSQL store with several clients')

function newTask(): NewTask {
  return {
    id: 'shop-api',
    title: 'Shop API',
    source: {
      kind: 'issue',
      repo: 'acme/shop',
      issue: 12,
      key: 'issue:acme/shop#12',
      requester: 'octocat',
    },
    manifestText: 'id: shop-api',
    spec: 'id: shop-api',
  }
}

/** What several DevSys processes sharing one database see: the SQLite contracts run in one. */
describe.skipIf(!postgres)('PostgreSQL store, several clients at once', () => {
  let database: TestDatabase
  let a: PostgresStore
  let b: PostgresStore
  beforeEach(async () => {
    database = await createTestDatabase()
    a = await openPostgresStore({ url: database.url })
    b = await openPostgresStore({ url: database.url })
  })
  afterEach(async () => {
    await a.close()
    await b.close()
    await database.drop()
  })

  it('creates a new task once when two clients save it at the same time', async () => {
    const results = await Promise.all([a.saveTask(newTask()), b.saveTask(newTask())])
    expect(results.map((r) => r.kind).sort()).toEqual(['created', 'unchanged'])
    const ref = { repo: 'acme/shop', id: 'shop-api' }
    expect(await a.listAudit(taskSubject(ref))).toMatchObject([{ action: 'task.created' }])
  })

  it('keeps the audit trail a chain of real transitions under concurrent status changes', async () => {
    await a.saveTask(newTask())
    const ref = { repo: 'acme/shop', id: 'shop-api' }
    await Promise.all([
      a.setTaskStatus(ref, 'in_progress', 'x'),
      b.setTaskStatus(ref, 'blocked', 'y'),
      a.setTaskStatus(ref, 'done', 'z'),
    ])
    const changes = (await b.listAudit(taskSubject(ref)))
      .filter((e) => e.action === 'task.status')
      .map((e) => e.details as { from: string; to: string })
    expect(changes).toHaveLength(3)
    expect(changes[0]?.from).toBe('pending')
    for (let i = 1; i < changes.length; i++) expect(changes[i]?.from).toBe(changes[i - 1]?.to)
    expect((await a.getTask(ref))?.status).toBe(changes.at(-1)?.to)
  })

  it('gives a deploy lock to one of two clients acquiring it at once', async () => {
    const results = await Promise.all([
      a.acquireDeployLock('production', 'job:1', 'first', 60_000),
      b.acquireDeployLock('production', 'job:2', 'second', 60_000),
    ])
    expect(results.filter((r) => r.acquired)).toHaveLength(1)
    const refused = results.find((r) => !r.acquired)
    const winner = results[0]?.acquired ? 'job:1' : 'job:2'
    expect(refused).toMatchObject({ acquired: false, holder: { owner: winner } })
  })

  it('lets one of two jobs claim a command comment', async () => {
    const claims = await Promise.all([
      a.claimComment('acme/shop', 3_000_000_001, 'job-a'),
      b.claimComment('acme/shop', 3_000_000_001, 'job-b'),
    ])
    expect(claims.filter(Boolean)).toHaveLength(1)
  })

  it('reads back GitHub ids beyond 32 bits as numbers', async () => {
    await a.setCommentId('acme/shop', 12, 'status', 2_500_000_000_123)
    expect(await b.getCommentId('acme/shop', 12, 'status')).toBe(2_500_000_000_123)
    const run = await a.startTestRun({
      task: { repo: 'acme/shop', id: 'shop-api' },
      headSha: 'a'.repeat(40),
      checkRunId: 34_000_000_001,
    })
    expect((await b.getTestRun(run.id))?.checkRunId).toBe(34_000_000_001)
  })
})
