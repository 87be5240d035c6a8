import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { migratePostgres, POSTGRES_MIGRATIONS } from '../../src/store/postgres-migrations.js'
import { openPostgresStore } from '../../src/store/postgres-store.js'
import { taskSubject } from '../../src/store/store.js'
import { createTestDatabase, requirePostgres, type TestDatabase } from '../helpers/postgres.js'
import { AUDIT_RECORD_BEFORE_MIGRATION_11, capturingLog } from './support.js'

const postgres = await requirePostgres('checks the PostgreSQL migrations')

describe.skipIf(!postgres)('PostgreSQL migrations', () => {
  let database: TestDatabase
  let pools: pg.Pool[]
  beforeEach(async () => {
    database = await createTestDatabase()
    pools = []
  })
  afterEach(async () => {
    for (const pool of pools) await pool.end()
    await database.drop()
  })

  function pool(): pg.Pool {
    const p = new pg.Pool({ connectionString: database.url })
    pools.push(p)
    return p
  }

  async function versions(): Promise<{ version: number; name: string }[]> {
    const result = await pool().query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    )
    return result.rows
  }

  it('numbers and names every schema change as the SQLite store does, and records each once', async () => {
    expect(POSTGRES_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(
      MIGRATIONS.map((m) => [m.version, m.name]),
    )
    const { log, lines } = capturingLog()
    const store = await openPostgresStore({ url: database.url, log })
    await store.close()
    expect(await versions()).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })))
    const open = lines.map((l) => JSON.parse(l) as { msg: string; applied?: number[] })
    expect(open.find((l) => l.msg === 'PostgreSQL store open')?.applied).toEqual(
      MIGRATIONS.map((m) => m.version),
    )
    expect(lines.join('')).not.toContain(new URL(database.url).password)

    // Reopening applies nothing again and keeps the data.
    const again = await openPostgresStore({ url: database.url, log })
    await again.audit({ actor: 'a', action: 'b', subject: 'c', details: {} })
    await again.close()
    const reopened = await openPostgresStore({ url: database.url, log })
    expect(await reopened.listAudit('c')).toHaveLength(1)
    await reopened.close()
    const applied = lines
      .map((l) => JSON.parse(l) as { msg: string; applied?: number[] })
      .filter((l) => l.msg === 'PostgreSQL store open')
      .map((l) => l.applied)
    expect(applied).toEqual([MIGRATIONS.map((m) => m.version), [], []])
  })

  it('lets two processes starting at once apply each version once', async () => {
    const [a, b] = await Promise.all([pool().connect(), pool().connect()])
    try {
      const results = await Promise.all([migratePostgres(a, 'test'), migratePostgres(b, 'test')])
      expect(results.map((r) => r.length).sort()).toEqual([0, POSTGRES_MIGRATIONS.length])
    } finally {
      a.release()
      b.release()
    }
    expect(await versions()).toHaveLength(POSTGRES_MIGRATIONS.length)
  })

  it('refuses a database written by a newer DevSys, naming it but not the password', async () => {
    const client = await pool().connect()
    try {
      await migratePostgres(client, 'test')
      await client.query(
        `INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', now())`,
      )
    } finally {
      client.release()
    }
    const error = await openPostgresStore({ url: database.url }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    const { message } = error as Error
    expect(message).toContain(`schema version(s) 99`)
    expect(message).toContain(`/${database.name}`)
    expect(message).toContain('Upgrade DevSys')
    expect(message).not.toContain(new URL(database.url).password)
  })

  it('upgrades a version 5 database: task ids per repository, job ids as text', async () => {
    const client = await pool().connect()
    try {
      await migratePostgres(
        client,
        'test',
        POSTGRES_MIGRATIONS.filter((m) => m.version <= 5),
      )
      await client.query(`INSERT INTO tasks (id, title, status, source, source_key, repo,
          manifest_text, spec, revision, created_at, updated_at)
        VALUES ('blog', 'Blog', 'pending', '{"kind":"issue","repo":"octo/blog","key":"k",
          "requester":"octocat"}', 'k', 'octo/blog', 'm', 's', 1, now(), now())`)
      await client.query(`INSERT INTO test_runs (task_id, head_sha, state, created_at)
        VALUES ('blog', 'abc', 'queued', now())`)
      await client.query(`INSERT INTO audit (at, actor, action, subject, details)
        VALUES (now(), 'octocat', 'task.created', 'task:blog', '{}')`)
      await client.query(`INSERT INTO deployments (repo, environment, trigger, actor,
          commit_sha, ref, state, job_id, created_at)
        VALUES ('octo/blog', 'production', 'merge', 'devsys', 'abc', 'main', 'success', 42,
          now())`)
    } finally {
      client.release()
    }
    const store = await openPostgresStore({ url: database.url })
    try {
      const ref = { repo: 'octo/blog', id: 'blog' }
      expect(await store.getTask(ref)).toMatchObject({ id: 'blog', repo: 'octo/blog' })
      expect(await store.latestTestRun(ref)).toMatchObject({ repo: 'octo/blog', headSha: 'abc' })
      expect(await store.listAudit(taskSubject(ref))).toMatchObject([{ action: 'task.created' }])
      expect(await store.listDeployments({ jobId: '42' })).toMatchObject([{ jobId: '42' }])
      // The same id in another repository is another task now.
      const created = await store.saveTask({
        id: 'blog',
        title: 'Other blog',
        source: { kind: 'api', repo: 'octo/other', key: 'api', requester: 'manager-api' },
        manifestText: 'm',
        spec: 's',
      })
      expect(created.kind).toBe('created')
    } finally {
      await store.close()
    }
  })

  it('keeps audit records written before migration 11 readable, and refuses changing any', async () => {
    const client = await pool().connect()
    try {
      await migratePostgres(
        client,
        'test',
        POSTGRES_MIGRATIONS.filter((m) => m.version <= 8),
      )
      await client.query(`INSERT INTO audit (at, actor, action, subject, details)
        VALUES ('2026-03-01T10:00:00.000Z', 'alice', 'task.created', 'task:octo/blog#blog',
          '{"revision":1}')`)
    } finally {
      client.release()
    }
    const store = await openPostgresStore({ url: database.url })
    try {
      expect(await store.listAudit()).toEqual([AUDIT_RECORD_BEFORE_MIGRATION_11])
      expect((await store.queryAudit({ repo: 'octo/blog' })).map((e) => e.id)).toEqual([1])
    } finally {
      await store.close()
    }
    await expect(pool().query('UPDATE audit SET actor = $1', ['mallory'])).rejects.toThrow(
      /append-only: UPDATE is refused/,
    )
    await expect(pool().query('DELETE FROM audit')).rejects.toThrow(/append-only: DELETE/)
    await expect(pool().query('TRUNCATE audit')).rejects.toThrow(/append-only: TRUNCATE/)
  })
})
