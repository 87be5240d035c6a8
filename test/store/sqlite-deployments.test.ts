import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js'
import { tempDir } from './support.js'

// The deploy history's behaviour is checked for every store in
// test/contracts/deployment-store.test.ts; this file holds what only the SQLite one has.

let tmp: ReturnType<typeof tempDir>
let store: SqliteStore
beforeEach(() => {
  tmp = tempDir()
  store = openSqliteStore({ dataDir: tmp.dir })
})
afterEach(async () => {
  await store.close()
  tmp.remove()
})

const merge = {
  repo: 'octo/blog',
  environment: 'production',
  taskId: 'blog',
  trigger: 'merge',
  actor: 'mona',
  commitSha: 'a'.repeat(40),
  ref: 'main',
} as const

describe('deployments in SQLite', () => {
  it('refuses a trigger or state the history does not know', async () => {
    await expect(store.createDeployment({ ...merge, trigger: 'cron' as 'merge' })).rejects.toThrow(
      /CHECK constraint/,
    )
  })

  it('keeps a job id that is not a number, as text', async () => {
    const d = await store.createDeployment({ ...merge, jobId: 'pgboss-4f1c' })
    expect(await store.getDeployment(d.id)).toMatchObject({ jobId: 'pgboss-4f1c' })
    expect((await store.listDeployments({ jobId: 'pgboss-4f1c' })).map((x) => x.id)).toEqual([d.id])
  })
})
