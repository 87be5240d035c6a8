import { statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { migrate } from '../../src/store/sqlite-migrate.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import { taskSubject } from '../../src/store/store.js'
import { AUDIT_RECORD_BEFORE_MIGRATION_11, jobOf, tempDir } from './support.js'

let tmp: ReturnType<typeof tempDir>
beforeEach(() => {
  tmp = tempDir()
})
afterEach(() => tmp.remove())

function versions(path: string): { version: number; name: string }[] {
  const db = new Database(path, { readonly: true })
  try {
    return db
      .prepare<[], { version: number; name: string }>(
        'SELECT version, name FROM schema_migrations ORDER BY version',
      )
      .all()
  } finally {
    db.close()
  }
}

describe('migrations', () => {
  it('creates the data dir (0700) and a WAL database with every migration recorded once', async () => {
    const dataDir = join(tmp.dir, 'nested', 'data')
    const store = openSqliteStore({ dataDir })
    await store.close()
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(versions(store.path)).toEqual(
      MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    )
    const db = new Database(store.path)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    const tables = db
      .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
      .all()
      .map((t) => t.name)
    db.close()
    expect(tables).toEqual(
      expect.arrayContaining([
        'schema_migrations',
        'deliveries',
        'jobs',
        'tasks',
        'comments',
        'audit',
      ]),
    )
  })

  it('reopening keeps the data and applies nothing again', async () => {
    const first = openSqliteStore({ dataDir: tmp.dir })
    const firstJobs = openSqliteJobStore({ dataDir: tmp.dir })
    const job = jobOf(
      await firstJobs.enqueue(
        { kind: 'generate', key: 'task:a', payload: { n: 1 } },
        { id: 'd-1', event: 'issues' },
      ),
    )
    await first.setCommentId('o/r', 7, 'validation', 99)
    await firstJobs.close()
    await first.close()

    const second = openSqliteStore({ dataDir: tmp.dir })
    const secondJobs = openSqliteJobStore({ dataDir: tmp.dir })
    expect((await secondJobs.getJob(job.id))?.payload).toEqual({ n: 1 })
    expect(await secondJobs.hasDelivery('d-1')).toBe(true)
    expect(await second.getCommentId('o/r', 7, 'validation')).toBe(99)
    await secondJobs.close()
    await second.close()
    expect(versions(second.path)).toHaveLength(MIGRATIONS.length)

    const db = new Database(second.path)
    expect(migrate(db)).toEqual([])
    db.close()
  })

  it('applies a new migration once, in order, after the existing ones', async () => {
    const store = openSqliteStore({ dataDir: tmp.dir })
    await store.close()
    const shipped = MIGRATIONS.map((m) => m.version)
    const version = Math.max(...shipped) + 1
    const next = [...MIGRATIONS, { version, name: 'extra', sql: 'CREATE TABLE extra (a TEXT)' }]
    const db = new Database(store.path)
    expect(migrate(db, next)).toEqual([version])
    expect(migrate(db, next)).toEqual([])
    db.close()
    expect(versions(store.path).map((v) => v.version)).toEqual([...shipped, version])
  })

  it('applies a version left out below the newest once it ships (a gap in the numbers)', async () => {
    // Branches number their migrations ahead: a database that got 10 first takes 9 later.
    const missing = 9
    const db = new Database(join(tmp.dir, 'gap.sqlite'))
    const withoutIt = MIGRATIONS.filter((m) => m.version !== missing)
    expect(migrate(db, withoutIt)).toEqual(withoutIt.map((m) => m.version))
    expect(migrate(db, MIGRATIONS)).toEqual([missing])
    expect(migrate(db, MIGRATIONS)).toEqual([])
    const applied = db
      .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
      .all()
    db.close()
    expect(applied.map((v) => v.version).sort((a, b) => a - b)).toEqual(
      MIGRATIONS.map((m) => m.version),
    )
  })

  it('rolls back a failing migration entirely', async () => {
    const store = openSqliteStore({ dataDir: tmp.dir })
    await store.close()
    const shipped = MIGRATIONS.map((m) => m.version)
    const broken = [
      ...MIGRATIONS,
      {
        version: Math.max(...shipped) + 1,
        name: 'broken',
        sql: 'CREATE TABLE half (a TEXT); NOT SQL AT ALL',
      },
    ]
    const db = new Database(store.path)
    expect(() => migrate(db, broken)).toThrow()
    const half = db.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get()
    db.close()
    expect(half).toBeUndefined()
    expect(versions(store.path).map((v) => v.version)).toEqual(shipped)
  })

  it('moves a database of global task ids to ids per repository, keeping tasks, runs and history', async () => {
    // A database as DevSys left it before task ids were per repository (versions 1 to 5).
    const path = join(tmp.dir, 'devsys.sqlite')
    const old = new Database(path)
    migrate(
      old,
      MIGRATIONS.filter((m) => m.version <= 5),
    )
    const at = '2026-03-01T10:00:00.000Z'
    const source = JSON.stringify({
      kind: 'issue',
      repo: 'octo/blog',
      issue: 3,
      key: 'issue:octo/blog#3',
      requester: 'alice',
    })
    old
      .prepare(`INSERT INTO tasks (id, title, status, source, source_key, repo, manifest_text,
          spec, revision, created_at, updated_at, branch, head_sha, pr_number, pr_url)
        VALUES ('blog', 'Blog', 'in_progress', ?, 'issue:octo/blog#3', 'octo/blog', '{}', 'x', 2,
          ?, ?, 'devsys/blog', ?, 9, 'https://github.com/octo/blog/pull/9')`)
      .run(source, at, at, 'a'.repeat(40))
    old
      .prepare(`INSERT INTO test_runs (task_id, head_sha, state, created_at)
        VALUES ('blog', ?, 'completed', ?)`)
      .run('a'.repeat(40), at)
    old
      .prepare(`INSERT INTO audit (at, actor, action, subject, details)
        VALUES (?, 'alice', 'task.created', 'task:blog', '{}')`)
      .run(at)
    old.close()

    const store = openSqliteStore({ dataDir: tmp.dir })
    const ref = { repo: 'octo/blog', id: 'blog' }
    expect(await store.getTask(ref)).toMatchObject({
      repo: 'octo/blog',
      status: 'in_progress',
      revision: 2,
      code: { branch: 'devsys/blog', pullRequest: { number: 9 } },
    })
    expect((await store.findTaskByPullRequest('octo/blog', 9))?.id).toBe('blog')
    expect(await store.latestTestRun(ref)).toMatchObject({ repo: 'octo/blog', state: 'completed' })
    expect((await store.listAudit(taskSubject(ref))).map((e) => e.action)).toEqual(['task.created'])
    // Another repository may now use the same id.
    const other = await store.saveTask({
      id: 'blog',
      title: 'Other blog',
      source: {
        kind: 'issue',
        repo: 'acme/site',
        issue: 1,
        key: 'issue:acme/site#1',
        requester: 'bob',
      },
      manifestText: '{"other":1}',
      spec: 'y',
    })
    expect(other.kind).toBe('created')
    expect((await store.getTask(ref))?.manifestText).toBe('{}')
    await store.close()
  })

  it('keeps the job ids of handled comments and deployments, as text, when ids become opaque', async () => {
    // A database as DevSys left it while job ids were numbers (versions 1 to 7).
    const path = join(tmp.dir, 'devsys.sqlite')
    const old = new Database(path)
    migrate(
      old,
      MIGRATIONS.filter((m) => m.version <= 7),
    )
    const at = '2026-03-01T10:00:00.000Z'
    old
      .prepare(`INSERT INTO handled_comments (repo, comment_id, job_id, handled_at)
        VALUES ('octo/blog', 501, 7, ?)`)
      .run(at)
    old
      .prepare(`INSERT INTO deployments (repo, environment, task_id, trigger, actor, commit_sha,
          ref, state, job_id, created_at)
        VALUES ('octo/blog', 'production', 'blog', 'merge', 'mona', ?, 'main', 'success', 12, ?)`)
      .run('a'.repeat(40), at)
    old.close()

    const store = openSqliteStore({ dataDir: tmp.dir })
    expect(await store.claimComment('octo/blog', 501, '7')).toBe(true)
    expect(await store.claimComment('octo/blog', 501, '8')).toBe(false)
    const [deployment] = await store.listDeployments({ jobId: '12' })
    expect(deployment).toMatchObject({ jobId: '12', state: 'success', commitSha: 'a'.repeat(40) })
    await store.close()
  })

  it('keeps audit records written before migration 11 readable, with their task as target', async () => {
    const path = join(tmp.dir, 'devsys.sqlite')
    const old = new Database(path)
    migrate(
      old,
      MIGRATIONS.filter((m) => m.version <= 8),
    )
    const insert = old.prepare(`INSERT INTO audit (at, actor, action, subject, details)
      VALUES ('2026-03-01T10:00:00.000Z', ?, ?, ?, ?)`)
    insert.run('alice', 'task.created', 'task:octo/blog#blog', '{"revision":1}')
    insert.run('devsys', 'rollback', 'deployment:3', '{}')
    old.close()

    const store = openSqliteStore({ dataDir: tmp.dir })
    expect(await store.listAudit()).toEqual([
      AUDIT_RECORD_BEFORE_MIGRATION_11,
      expect.objectContaining({
        id: 2,
        subject: 'deployment:3',
        target: expect.objectContaining({ repo: null }),
      }),
    ])
    expect((await store.queryAudit({ repo: 'octo/blog' })).map((e) => e.id)).toEqual([1])
    await store.close()
  })

  it('refuses a database written by a newer DevSys', async () => {
    const store = openSqliteStore({ dataDir: tmp.dir })
    await store.close()
    const db = new Database(store.path)
    db.prepare(`INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01T00:00:00Z')`).run()
    db.close()
    expect(() => openSqliteStore({ dataDir: tmp.dir })).toThrow(/newer DevSys/)
  })
})
