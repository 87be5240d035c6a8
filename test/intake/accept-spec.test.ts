import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { acceptManifest } from '../../src/intake/accept-manifest.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { Store, TaskSource } from '../../src/store/store.js'

const spec = readFileSync(new URL('../fixtures/specs/001-blog/spec.md', import.meta.url), 'utf8')
const path = 'specs/001-blog/spec.md'
let dataDir: string
let store: Store

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'devsys-accept-spec-'))
  store = openSqliteStore({ dataDir })
})
afterEach(async () => {
  await store.close()
  rmSync(dataDir, { recursive: true, force: true })
})

function source(kind: 'push' | 'issue'): TaskSource {
  return kind === 'push'
    ? { kind, repo: 'octo/blog', path, key: `push:octo/blog:${path}`, requester: 'octocat' }
    : { kind, repo: 'octo/blog', issue: 4, key: 'issue:octo/blog#4', requester: 'octocat' }
}

describe('accepting a Spec Kit spec', () => {
  it('points a task id taken by another source at the line the id comes from', async () => {
    const pushed = await acceptManifest(store, {
      text: spec,
      origin: { label: path, path },
      source: source('push'),
      maxBytes: 1024 * 1024,
    })
    expect(pushed).toMatchObject({ kind: 'saved', result: 'created' })

    // The same folder name as the id, from an issue: refused at the title, which names the task.
    const named = await acceptManifest(store, {
      text: spec,
      origin: { label: 'issue #4', path: 'other/001-blog/spec.md' },
      source: source('issue'),
      maxBytes: 1024 * 1024,
    })
    expect(named.kind).toBe('conflict')
    expect(named.kind === 'conflict' ? named.problems : []).toEqual([
      expect.objectContaining({ pointer: '/id', line: 1, column: 26 }),
    ])

    // An id written in the ```devsys block: refused at that line.
    const written = await acceptManifest(store, {
      text: spec.replace('stack: php\n', 'id: 001-blog\nstack: php\n'),
      origin: { label: 'issue #4', speckit: true },
      source: source('issue'),
      maxBytes: 1024 * 1024,
    })
    expect(written.kind === 'conflict' ? written.problems : []).toEqual([
      expect.objectContaining({ pointer: '/id', line: 9, column: 5 }),
    ])
  })
})
