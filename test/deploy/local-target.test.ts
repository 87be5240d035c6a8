import { execFileSync } from 'node:child_process'
import { watch } from 'node:fs'
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLocalTarget } from '../../src/deploy/targets/local-target.js'
import { RELEASE_MARKER } from '../../src/deploy/targets/release-plan.js'
import type { DeployError, Release } from '../../src/deploy/types.js'
import { canMountTmpfs } from '../helpers/small-disk.js'

const log = pino({ level: 'silent' })
const signal = () => new AbortController().signal
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devsys-local-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

/** A release directory with these files; the id is a fake tree id derived from `n`. */
async function release(n: number, files: Record<string, string>): Promise<Release> {
  const src = join(dir, `src-${n}`)
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(src, path, '..'), { recursive: true })
    await writeFile(join(src, path), text)
  }
  return { id: n.toString(16).padStart(40, 'a'), dir: src }
}

const root = () => join(dir, 'target')
const upload = (t: ReturnType<typeof createLocalTarget>, r: Release, s = signal()) =>
  t.upload(r, { signal: s, log })

// What every deploy target must do is in test/contracts/deploy-target.contract.ts, run against
// this target by test/contracts/deploy-target-local.test.ts; here is only what is the local
// target's own (how keep counts, an abort seen on the file system, a full disk).

describe('local target', () => {
  it('prunes the oldest releases beyond keep, never current nor the one before it', async () => {
    const target = createLocalTarget({ root: root() })
    const ids: string[] = []
    for (let n = 1; n <= 5; n++) {
      const r = await release(n, { 'a.txt': `v${n}` })
      await upload(target, r)
      ids.push(r.id)
      // Age is the marker's time: set it a minute apart rather than rely on a short sleep
      // outlasting the file system's timestamp granularity.
      const at = Date.now() / 1000 - (10 - n) * 60
      await utimes(join(root(), 'releases', r.id, RELEASE_MARKER), at, at)
    }
    await target.activate(ids[1] ?? '')
    await mkdir(join(root(), 'releases', '.tmp-leftover'))
    // keep 2: current (2) and the newest other (5); nothing was live before 2.
    expect(await target.prune(2)).toEqual([ids[3], ids[2], ids[0]])
    expect((await target.state()).releases).toEqual([ids[4], ids[1]])
    expect(await readdir(join(root(), 'releases'))).not.toContain('.tmp-leftover')
    await target.activate(ids[4] ?? '')
    expect(await readlink(join(root(), 'previous'))).toBe(`releases/${ids[1]}`)
    // keep 1 still keeps release 2: it was live just before 5 (the instant rollback target).
    expect(await target.prune(1)).toEqual([])
    const r6 = await release(6, { 'a.txt': 'v6' })
    await upload(target, r6)
    await target.activate(r6.id)
    expect(await target.prune(1)).toEqual([ids[1]])
    expect((await target.state()).releases).toEqual([r6.id, ids[4]])
  })

  it('an upload aborted mid-copy leaves no temporary directory and current untouched', async () => {
    const target = createLocalTarget({ root: root() })
    const r1 = await release(1, { 'a.txt': 'a' })
    await upload(target, r1)
    await target.activate(r1.id)
    const files: Record<string, string> = {}
    for (let i = 0; i < 2000; i++) files[`f/${i}.txt`] = `x${i}`
    const r2 = await release(2, files)
    const controller = new AbortController()
    // Abort as soon as the temporary release directory appears: the copy is under way.
    let seenTemp = ''
    const watcher = watch(join(root(), 'releases'), (_event, name) => {
      if (name?.startsWith('.tmp-') === true && seenTemp === '') {
        seenTemp = name
        controller.abort()
      }
    })
    const error = await upload(target, r2, controller.signal).catch((e: unknown) => e)
    watcher.close()
    expect(seenTemp).toMatch(new RegExp(`^\\.tmp-${r2.id}-[0-9a-f]{12}$`))
    expect((error as DeployError).code).toBe('aborted')
    expect(await readdir(join(root(), 'releases'))).toEqual([r1.id])
    expect(await target.state()).toEqual({ current: r1.id, releases: [r1.id] })
    expect(await readFile(join(root(), 'current/a.txt'), 'utf8')).toBe('a')
  })

  it('rejects shared directories that leave the release or are not written plainly', () => {
    for (const bad of ['../x', '/abs', 'data//x', './data', 'a/../b']) {
      expect(() => createLocalTarget({ root: root(), shared: [bad] })).toThrow(/relative path/)
    }
    expect(() => createLocalTarget({ root: root(), shared: ['data/'] })).not.toThrow()
  })
})

// A real small file system: mount needs root (CAP_SYS_ADMIN); elsewhere the test is skipped.
describe.skipIf(!canMountTmpfs)('local target on a full disk (tmpfs of 1 MB)', () => {
  it('a shared directory too big to seed leaves no half-seeded shared dir behind', async () => {
    const mnt = join(dir, 'mnt')
    await mkdir(mnt)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt])
    try {
      const target = createLocalTarget({ root: mnt, shared: ['data'] })
      // 600 KB in the release, then 600 KB more to seed shared/data: only the seed does not fit.
      const r1 = await release(1, { 'data/big.bin': 'z'.repeat(600 * 1024), 'index.html': 'x' })
      const error = await upload(target, r1).catch((e: unknown) => e)
      expect((error as DeployError).code).toBe('no-space')
      expect(await readdir(join(mnt, 'releases'))).toEqual([])
      expect(await readdir(join(mnt, 'shared'))).toEqual([])
      expect(await target.state()).toEqual({ current: null, releases: [] })
    } finally {
      execFileSync('umount', [mnt])
    }
  })
})
