import { randomBytes } from 'node:crypto'
import { chmod, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { RELEASE_MARKER } from '../../src/deploy/targets/release-plan.js'
import { type DeployTarget, DeployError, type Release } from '../../src/deploy/types.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { retitleBlog, snapshotRelease } from '../deploy/release-fixtures.js'
import { createBlogWorkspace } from '../runner/blog-workspace.js'
import { type KnownDivergences, scenarios } from './scenario.js'
import type { TargetFiles } from './target-files.js'

/** A target deploying into a root no other scenario uses, and what the test sees of it. */
export interface FreshTarget {
  target: DeployTarget
  /** The files under the target's root. */
  files: TargetFiles
  /** The url the target was made with (what `target.url` must be). */
  url: string | null
  /** GETs a path of the live site (current/public), when the implementation can serve it. */
  page?(path: string): Promise<{ status: number; body: string }>
  /** Closes the target and removes what the scenario made (a container, a folder). */
  dispose(): Promise<void>
}

/** One implementation of the `DeployTarget` port, as the contract suite drives it. */
export interface DeployTargetUnderTest {
  kind: DeployTarget['kind']
  /** Starts what the target needs (a server); runs once, before every scenario. */
  setUp?(): Promise<void>
  tearDown?(): Promise<void>
  /** A target on a new, empty root, with these shared folders. */
  fresh(shared: string[]): Promise<FreshTarget>
  /**
   * A target whose root is on a disk of 1 MiB, for the full-disk scenario; absent when none can be
   * made here (skipped).
   */
  smallDisk?(): Promise<FreshTarget>
  /** What the no-space error says to do, beyond its code. */
  noSpaceMessage: RegExp
  /** A failed upload leaves no temporary folder at all (otherwise the next upload removes it). */
  removesPartialAtOnce: boolean
  /** Checks made after every scenario (e.g. that a root's odd name ran nothing). */
  afterScenario?(): Promise<void>
  /** Whether `fresh()` gives a `page()` (the blog scenarios need one). */
  serves: boolean
  /** Unchanged files are taken from the live release on the target, not sent again. */
  reusesFiles: boolean
  /** `bytesSent` counts the files' bytes (not the bytes of an archive holding them). */
  countsFileBytes: boolean
  /** Scenarios (by name) this implementation is known to fail, each with why. */
  knownDivergences?: KnownDivergences
}

const log = pino({ level: 'silent' })
const upload = (target: DeployTarget, release: Release, signal = new AbortController().signal) =>
  target.upload(release, { signal, log })

/**
 * The scenarios every `DeployTarget` must pass, defined once and run against each implementation
 * (test/contracts/deploy-target-<kind>.test.ts). Call inside a `describe` that skips or fails as
 * the implementation's services require.
 */
export function deployTargetContract(impl: DeployTargetUnderTest): void {
  const { scenario, done } = scenarios(impl.knownDivergences)
  let dir: string
  let ws: TestWorkspace
  // The generated blog, then the same with its title changed (one file differs).
  let first: Release
  let second: Release
  beforeAll(async () => {
    await impl.setUp?.()
    dir = await mkdtemp(join(tmpdir(), 'devsys-target-contract-'))
    ws = await createBlogWorkspace()
    first = await snapshotRelease(ws.dir)
    await retitleBlog(ws.dir, 'Second edition')
    second = await snapshotRelease(ws.dir)
  }, 120_000)
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
    for (const release of [first, second]) {
      if (release !== undefined) await rm(release.dir, { recursive: true, force: true })
    }
    await ws?.cleanup()
    await impl.tearDown?.()
  })
  const made: FreshTarget[] = []
  const fresh = async (shared: string[] = [], make = () => impl.fresh(shared)) => {
    const t = await make()
    made.push(t)
    expect(t.target.kind).toBe(impl.kind)
    expect(t.target.url).toBe(t.url)
    return t
  }
  afterEach(async () => {
    for (const t of made.splice(0)) await t.dispose()
    await impl.afterScenario?.()
  })

  let sources = 0
  /** A release directory with these files; the id is a fake tree id derived from `n`. */
  async function release(n: number, files: Record<string, string>): Promise<Release> {
    const src = join(dir, `src-${++sources}`)
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(src, path, '..'), { recursive: true })
      await writeFile(join(src, path), text)
    }
    return { id: n.toString(16).padStart(40, 'a'), dir: src }
  }
  /** Makes a release's marker `minutes` old: release age is the marker's time. */
  const age = (files: TargetFiles, id: string, minutes: number) =>
    files.age(`releases/${id}/${RELEASE_MARKER}`, minutes * 60)

  scenario(
    'uploads into releases/<id>, switches current atomically and reports state',
    async () => {
      const { target, files } = await fresh()
      expect(await target.state()).toEqual({ current: null, releases: [] })
      const r1 = await release(1, { 'public/index.html': 'one', 'src/a.php': 'a' })
      const sent1 = await upload(target, r1)
      expect(sent1).toMatchObject({ alreadyThere: false, sent: 2, reused: 0 })
      if (impl.countsFileBytes) expect(sent1.bytesSent).toBe(4)
      else expect(sent1.bytesSent).toBeGreaterThanOrEqual(4)
      expect(await target.state()).toEqual({ current: null, releases: [r1.id] })
      await target.activate(r1.id)
      expect(await files.readlink('current')).toBe(`releases/${r1.id}`)
      expect(await files.read('current/public/index.html')).toBe('one')
      const marker = JSON.parse(await files.read(`current/${RELEASE_MARKER}`))
      expect(marker).toMatchObject({ id: r1.id, fileCount: 2 })
      await age(files, r1.id, 10)

      const r2 = await release(2, { 'public/index.html': 'two', 'src/a.php': 'a', 'new.txt': 'n' })
      expect(await target.diff(r2)).toEqual({
        added: ['new.txt'],
        changed: ['public/index.html'],
        removed: [],
      })
      const sent2 = await upload(target, r2)
      // An unchanged file is taken from the live release (a hard link) when the target can.
      expect(sent2).toMatchObject(
        impl.reusesFiles
          ? { alreadyThere: false, sent: 2, reused: 1 }
          : { alreadyThere: false, sent: 3, reused: 0 },
      )
      if (impl.countsFileBytes) expect(sent2.bytesSent).toBe(impl.reusesFiles ? 4 : 5)
      await target.activate(r2.id)
      expect(await files.read('current/public/index.html')).toBe('two')
      expect((await target.state()).releases).toEqual([r2.id, r1.id])
      // Redeploying a tree that is already there sends nothing.
      expect(await upload(target, r1)).toEqual({
        alreadyThere: true,
        sent: 0,
        reused: 0,
        bytesSent: 0,
      })
      await target.activate(r1.id)
      expect((await target.state()).current).toBe(r1.id)
    },
  )

  scenario('keeps the release that was live before current as `previous`', async () => {
    const { target, files } = await fresh()
    const r1 = await release(1, { 'a.txt': 'a' })
    const r2 = await release(2, { 'a.txt': 'b' })
    await upload(target, r1)
    await upload(target, r2)
    await target.activate(r1.id)
    await target.activate(r2.id)
    expect(await files.readlink('previous')).toBe(`releases/${r1.id}`)
    expect(await files.list('')).toEqual(['current', 'previous', 'releases'])
  })

  scenario('refuses to activate a release that is not complete', async () => {
    const { target } = await fresh()
    const r1 = await release(1, { 'a.txt': 'a' })
    const error = await target.activate(r1.id).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeployError)
    expect(error).toMatchObject({ code: 'not-found', target: impl.kind })
    await upload(target, r1)
    await target.activate(r1.id)
    await expect(target.activate('f'.repeat(40))).rejects.toMatchObject({
      code: 'not-found',
      target: impl.kind,
    })
  })

  scenario('keeps shared directories across releases, seeded from the first', async () => {
    const { target, files } = await fresh(['data'])
    const r1 = await release(1, { 'data/posts.json': '[1]', 'index.php': '1' })
    await upload(target, r1)
    await target.activate(r1.id)
    expect(await files.readlink(`releases/${r1.id}/data`)).toBe('../../shared/data')
    await files.write('current/data/posts.json', '[1,2]')
    const r2 = await release(2, { 'data/posts.json': '[1]', 'index.php': '2' })
    await upload(target, r2)
    await target.activate(r2.id)
    expect(await files.read('current/data/posts.json')).toBe('[1,2]')
    expect(await files.read('shared/data/posts.json')).toBe('[1,2]')
  })

  /** Four releases, 1 oldest; 1 was live, then 2 (current), 3 and 4 were never live. */
  async function fourReleases(): Promise<{
    target: DeployTarget
    ids: [string, string, string, string]
  }> {
    const { target, files } = await fresh()
    const ids: string[] = []
    for (let n = 1; n <= 4; n++) {
      const r = await release(n, { 'a.txt': `v${n}` })
      await upload(target, r)
      // Age is the marker's time: set it a minute apart rather than rely on the file system's
      // timestamp granularity.
      await age(files, r.id, 10 - n)
      ids.push(r.id)
    }
    const [r1, r2] = ids as [string, string]
    await target.activate(r1)
    await target.activate(r2)
    expect((await target.state()).releases).toEqual([...ids].reverse())
    return { target, ids: ids as [string, string, string, string] }
  }

  scenario(
    'prunes the oldest releases beyond keep, never the current one, and says which',
    async () => {
      const { target, ids } = await fourReleases()
      const [r1, r2, r3, r4] = ids
      const before = [r4, r3, r2, r1]
      const removed = await target.prune(3)
      expect(removed).not.toContain(r2)
      const kept = before.filter((id) => !removed.includes(id))
      expect(kept.length).toBeGreaterThanOrEqual(3)
      // The oldest go first: each one removed is older than every one kept for its age alone.
      const newestRemoved = Math.min(...removed.map((id) => before.indexOf(id)))
      const oldestKept = Math.max(
        ...kept.filter((id) => id !== r2 && id !== r1).map((id) => before.indexOf(id)),
      )
      expect(newestRemoved).toBeGreaterThan(oldestKept)
      expect(await target.state()).toEqual({ current: r2, releases: kept })
      expect(await target.prune(3)).toEqual([])
    },
  )

  scenario('never prunes `previous`, the instant rollback target', async () => {
    const { target, ids } = await fourReleases()
    const [r1, r2] = ids
    const removed = await target.prune(0)
    expect(removed).not.toContain(r1)
    expect((await target.state()).releases).toEqual([r2, r1])
  })

  scenario('ignores what a killed upload left behind, and cleans it up', async () => {
    const { target, files } = await fresh()
    const r1 = await release(1, { 'a.txt': 'a' })
    await upload(target, r1)
    await target.activate(r1.id)
    const r2 = await release(2, { 'a.txt': 'b', 'b.txt': 'b' })
    // A process killed mid-copy leaves a temp dir; a hand-made copy has no marker either.
    await files.mkdir(`releases/.tmp-${r2.id}-dead/x`)
    await files.write(`releases/${r2.id}/a.txt`, 'half')
    expect(await target.state()).toEqual({ current: r1.id, releases: [r1.id] })
    await expect(target.activate(r2.id)).rejects.toMatchObject({ code: 'not-found' })
    expect(await upload(target, r2)).toMatchObject({ alreadyThere: false, sent: 2 })
    expect(await files.read(`releases/${r2.id}/a.txt`)).toBe('b')
    expect(await target.prune(5)).toEqual([])
    expect(await files.list('releases')).toEqual([r1.id, r2.id].sort())
  })

  scenario('refuses a release with a symlink out of it, copying nothing', async () => {
    const { target, files } = await fresh()
    const r1 = await release(1, { 'public/a.txt': 'a' })
    await symlink('/etc/passwd', join(r1.dir, 'public/passwd'))
    const error = await upload(target, r1).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'upload-failed', target: impl.kind })
    expect((error as Error).message).toMatch(
      /public\/passwd is a symlink pointing outside the release/,
    )
    expect(await files.list('releases')).toEqual([])
    await expect(target.diff(r1)).rejects.toMatchObject({
      code: 'upload-failed',
      message: expect.stringMatching(/passwd is a symlink pointing outside/),
    })
  })

  scenario('never replaces the live release for lack of a marker', async () => {
    const { target, files } = await fresh()
    const r1 = await release(1, { 'a.txt': 'new' })
    // Live, but without a marker: made by hand, or by an older DevSys.
    await files.write(`releases/${r1.id}/a.txt`, 'live')
    await files.symlink(`releases/${r1.id}`, 'current')
    const error = await upload(target, r1).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'upload-failed', target: impl.kind })
    expect((error as Error).message).toMatch(
      /is the live release but has no \.devsys-release\.json/,
    )
    expect(await files.read('current/a.txt')).toBe('live')
    expect(await files.list('releases')).toEqual([r1.id])
  })

  scenario(
    'deploys a link inside the release as a copy and a mode change as a change',
    async () => {
      const { target, files } = await fresh()
      const site = join(dir, `linked site ${++sources}`)
      await mkdir(join(site, 'public'), { recursive: true })
      await mkdir(join(site, 'bin'))
      await writeFile(join(site, 'public/index.php'), '<?php echo "linked";')
      await symlink('index.php', join(site, 'public/home.php'))
      await writeFile(join(site, 'bin/run'), '#!/bin/sh\n', { mode: 0o644 })
      await chmod(join(site, 'bin/run'), 0o644)
      const a = { id: 'c'.repeat(40), dir: site }
      expect(await upload(target, a)).toMatchObject({ sent: 3, reused: 0 })
      await target.activate(a.id)
      expect((await files.stat('current/public/home.php')).type).toBe('file')
      expect(await files.read('current/public/home.php')).toBe('<?php echo "linked";')
      const marker = JSON.parse(await files.read(`current/${RELEASE_MARKER}`))
      expect(marker).toMatchObject({ id: a.id, fileCount: 3 })
      expect(Object.keys(marker.files)).toEqual(['bin/run', 'public/home.php', 'public/index.php'])

      // The executable bit alone is a change: sent, not hard-linked with the old mode.
      await chmod(join(site, 'bin/run'), 0o755)
      const b = { id: 'd'.repeat(40), dir: site }
      expect(await target.diff(b)).toEqual({ added: [], changed: ['bin/run'], removed: [] })
      expect(await upload(target, b)).toMatchObject(
        impl.reusesFiles ? { sent: 1, reused: 2 } : { sent: 3, reused: 0 },
      )
      expect((await files.stat(`releases/${b.id}/bin/run`)).mode).toBe(0o755)
      expect((await files.stat(`releases/${a.id}/bin/run`)).mode).toBe(0o644)
      expect(await files.list('releases')).toEqual([a.id, b.id])
    },
  )

  scenario(
    'deploys the blog: current switches to it and the pages answer',
    async () => {
      const { target, files, page } = await fresh(['uploads'])
      if (page === undefined) throw new Error('fresh() gave no page() for this target')
      expect(await target.state()).toEqual({ current: null, releases: [] })
      const result = await upload(target, first)
      expect(result).toMatchObject({ alreadyThere: false, reused: 0 })
      expect(result.sent).toBeGreaterThan(10)
      expect(await target.state()).toEqual({ current: null, releases: [first.id] })
      // The marker, written last: the release's id and every file sent.
      const marker = JSON.parse(await files.read(`releases/${first.id}/${RELEASE_MARKER}`))
      expect(marker).toMatchObject({ id: first.id, fileCount: result.sent })
      await target.activate(first.id)
      expect(await target.state()).toEqual({ current: first.id, releases: [first.id] })
      expect(await files.readlink('current')).toBe(`releases/${first.id}`)
      const home = await page('/')
      expect(home.status).toBe(200)
      expect(home.body).toContain('A small PHP blog')
      expect((await page('/style.css')).status).toBe(200)
      // The shared folder is a link out of the release.
      expect(await files.readlink(`releases/${first.id}/uploads`)).toBe('../../shared/uploads')
    },
    { skip: !impl.serves },
  )

  scenario(
    'uploads the next release beside the live one, switches to it, and redeploys by switching only',
    async () => {
      const { target, files, page } = await fresh(['uploads'])
      if (page === undefined) throw new Error('fresh() gave no page() for this target')
      await upload(target, first)
      await target.activate(first.id)
      await age(files, first.id, 10)
      expect(await target.diff(second)).toEqual({
        added: [],
        changed: ['data/site.json'],
        removed: [],
      })
      const result = await upload(target, second)
      const count = (await readdir(first.dir, { recursive: true, withFileTypes: true })).filter(
        (e) => e.isFile(),
      ).length
      expect(result).toMatchObject(
        impl.reusesFiles
          ? { alreadyThere: false, sent: 1, reused: count - 1 }
          : { alreadyThere: false, sent: count, reused: 0 },
      )
      if (impl.reusesFiles) {
        const inode = async (id: string) =>
          (await files.stat(`releases/${id}/public/index.php`)).ino
        expect(await inode(second.id)).toBe(await inode(first.id))
      }
      // Uploaded, not live yet.
      expect((await page('/')).body).toContain('A small PHP blog')
      await files.write('shared/uploads/kept.txt', 'survives releases')
      await target.activate(second.id)
      expect((await page('/')).body).toContain('Second edition')
      expect(await target.state()).toEqual({
        current: second.id,
        releases: [second.id, first.id],
      })
      expect(await files.list('releases')).toEqual([first.id, second.id].sort())
      expect(await files.read('current/uploads/kept.txt')).toBe('survives releases')

      // A release that is there already: nothing is sent, the switch is all.
      expect(await upload(target, first)).toEqual({
        alreadyThere: true,
        sent: 0,
        reused: 0,
        bytesSent: 0,
      })
      await target.activate(first.id)
      expect((await page('/')).body).toContain('A small PHP blog')
      await target.activate(second.id)
      expect((await page('/')).body).toContain('Second edition')
    },
    { skip: !impl.serves },
  )

  scenario('a cancelled upload leaves current and the releases as they were', async () => {
    const { target, files } = await fresh()
    const r1 = await release(1, { 'a.txt': 'a' })
    await upload(target, r1)
    await target.activate(r1.id)
    const controller = new AbortController()
    controller.abort()
    const r2 = await release(2, { 'a.txt': 'b' })
    const error = await upload(target, r2, controller.signal).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeployError)
    expect(error).toMatchObject({ code: 'aborted', target: impl.kind })
    expect(await target.state()).toEqual({ current: r1.id, releases: [r1.id] })
    expect(await files.read('current/a.txt')).toBe('a')
  })

  scenario(
    'fails a release bigger than the disk with no-space, and keeps serving the live one',
    async () => {
      const small = impl.smallDisk
      if (small === undefined) throw new Error('no smallDisk() for this target')
      const { target, files, page } = await fresh([], small)
      await upload(target, first)
      await target.activate(first.id)
      // The blog and 2 MiB that cannot be compressed, on a 1 MiB disk.
      const big = { id: 'e'.repeat(40), dir: join(dir, `big ${++sources}`) }
      await cp(first.dir, big.dir, { recursive: true })
      await writeFile(join(big.dir, 'public/big.bin'), randomBytes(2 * 1024 * 1024))
      const error = await upload(target, big).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DeployError)
      expect(error).toMatchObject({ code: 'no-space', target: impl.kind })
      expect((error as Error).message).toMatch(impl.noSpaceMessage)
      expect(await target.state()).toEqual({ current: first.id, releases: [first.id] })
      if (impl.removesPartialAtOnce) expect(await files.list('releases')).toEqual([first.id])
      if (page !== undefined) expect((await page('/')).body).toContain('A small PHP blog')
      else expect(await files.readlink('current')).toBe(`releases/${first.id}`)
      // The space came back: a smaller release fits again, and nothing half-made is left.
      const r3 = await release(3, { 'index.html': 'three' })
      await upload(target, r3)
      expect(await files.list('releases')).toEqual([first.id, r3.id].sort())
    },
    { skip: impl.smallDisk === undefined },
  )

  done()
}
