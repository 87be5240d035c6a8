import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openSqliteJobStore, type SqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { tempDir } from '../store/support.js'

// The JobStore's behaviour is checked for every implementation in test/contracts/job-store.test.ts;
// this file holds what only the SQLite one has.

let tmp: ReturnType<typeof tempDir>
let store: SqliteJobStore

beforeEach(() => {
  tmp = tempDir()
  store = openSqliteJobStore({ dataDir: tmp.dir })
})
afterEach(async () => {
  await store.close()
  tmp.remove()
})

const job = (key: string) => ({ kind: 'generate', key, payload: {} })

describe('enqueue', () => {
  it('commits a group of concurrent enqueues before any of them resolves', async () => {
    await Promise.all([
      store.enqueue(job('k:1'), { id: 'g-1', event: 'issues' }),
      store.enqueue(job('k:2'), { id: 'g-2', event: 'issues' }),
      store.enqueue(job('k:1'), { id: 'g-3', event: 'issues' }),
    ])
    const reader = new Database(store.path, { readonly: true })
    expect(reader.prepare('SELECT count(*) AS n FROM deliveries').get()).toEqual({ n: 3 })
    reader.close()
  })
})

describe('claimJob', () => {
  it('is backed by the database: a second running row for a key is refused', async () => {
    await store.enqueue(job('task:a'))
    await store.claimJob('w1', 1000)
    const db = new Database(store.path)
    const insert = () =>
      db
        .prepare(`INSERT INTO jobs (kind, key, payload, state, max_attempts, run_at, created_at,
          updated_at) VALUES ('x', 'task:a', 'null', 'running', 1, '', '', '')`)
        .run()
    expect(insert).toThrow(/UNIQUE/)
    db.close()
  })
})
