import { statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MIGRATIONS, migrate } from '../../src/store/migrations.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import { jobOf, tempDir } from './support.js'

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
    const job = jobOf(
      await first.enqueue(
        { kind: 'generate', key: 'task:a', payload: { n: 1 } },
        { id: 'd-1', event: 'issues' },
      ),
    )
    await first.setCommentId('o/r', 7, 'validation', 99)
    await first.close()

    const second = openSqliteStore({ dataDir: tmp.dir })
    expect((await second.getJob(job.id))?.payload).toEqual({ n: 1 })
    expect(await second.hasDelivery('d-1')).toBe(true)
    expect(await second.getCommentId('o/r', 7, 'validation')).toBe(99)
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
    const version = shipped.length + 1
    const next = [...MIGRATIONS, { version, name: 'extra', sql: 'CREATE TABLE extra (a TEXT)' }]
    const db = new Database(store.path)
    expect(migrate(db, next)).toEqual([version])
    expect(migrate(db, next)).toEqual([])
    db.close()
    expect(versions(store.path).map((v) => v.version)).toEqual([...shipped, version])
  })

  it('rolls back a failing migration entirely', async () => {
    const store = openSqliteStore({ dataDir: tmp.dir })
    await store.close()
    const shipped = MIGRATIONS.map((m) => m.version)
    const broken = [
      ...MIGRATIONS,
      {
        version: shipped.length + 1,
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

  it('refuses a database written by a newer DevSys', async () => {
    const store = openSqliteStore({ dataDir: tmp.dir })
    await store.close()
    const db = new Database(store.path)
    db.prepare(`INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01T00:00:00Z')`).run()
    db.close()
    expect(() => openSqliteStore({ dataDir: tmp.dir })).toThrow(/newer DevSys/)
  })
})
