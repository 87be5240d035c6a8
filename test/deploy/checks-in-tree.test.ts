import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { checksInTree } from '../../src/deploy/checks-in-tree.js'
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js'
import { MANIFEST, OWNER, REPO, taskRecord } from '../jobs/deploy-fixture.js'

const FULL = `${OWNER}/${REPO}`
let dir: string
let tree: string
let store: SqliteStore

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devsys-tree-checks-'))
  tree = join(dir, 'tree')
  mkdirSync(tree)
  store = openSqliteStore({ dataDir: join(dir, 'data') })
  await store.saveTask({
    id: MANIFEST.id,
    title: MANIFEST.title,
    source: { kind: 'api', repo: FULL, key: 'api', requester: 'mona' },
    manifestText: JSON.stringify(MANIFEST),
    spec: 'spec',
  })
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Writes the files of a tree (the task record among them). */
function write(files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(tree, path, '..'), { recursive: true })
    writeFileSync(join(tree, path), text)
  }
}

const deps = () => ({ store, maxManifestBytes: 1024 * 1024 })

describe('checksInTree', () => {
  it('takes the checks of the stored task the tree’s task record names', async () => {
    write(taskRecord())
    expect(await checksInTree(deps(), FULL, tree)).toEqual({
      taskId: MANIFEST.id,
      checks: [expect.objectContaining({ id: 'home', path: '/', status: 200 })],
    })
  })

  it('has no checks for a tree without a task record (a task’s merge reverted)', async () => {
    write({ 'README.md': '# Hello\n' })
    expect(await checksInTree(deps(), FULL, tree)).toEqual({ taskId: null, checks: [] })
  })

  it('ignores a record naming a task of another repository, or one that is not YAML', async () => {
    write(taskRecord())
    expect(await checksInTree(deps(), 'mallory/other', tree)).toEqual({ taskId: null, checks: [] })
    write({ '.devsys/task.yml': '{ not: [yaml' })
    expect(await checksInTree(deps(), FULL, tree)).toEqual({ taskId: null, checks: [] })
  })

  it('never follows a symlinked record or folder out of the tree', async () => {
    const outside = join(dir, 'outside')
    mkdirSync(outside)
    writeFileSync(join(outside, 'task.yml'), Object.values(taskRecord())[0] ?? '')
    symlinkSync(outside, join(tree, '.devsys'))
    expect(await checksInTree(deps(), FULL, tree)).toEqual({ taskId: null, checks: [] })
    rmSync(join(tree, '.devsys'))
    mkdirSync(join(tree, '.devsys'))
    symlinkSync(join(outside, 'task.yml'), join(tree, '.devsys', 'task.yml'))
    expect(await checksInTree(deps(), FULL, tree)).toEqual({ taskId: null, checks: [] })
  })
})
