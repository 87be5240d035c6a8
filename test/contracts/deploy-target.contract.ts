import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { RELEASE_MARKER } from '../../src/deploy/targets/release-plan.js'
import { DeployError, type DeployTarget, type Release } from '../../src/deploy/types.js'
import { retitleBlog, snapshotRelease } from '../deploy/release-fixtures.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { createBlogWorkspace } from '../runner/blog-workspace.js'
import { contentScenarios } from './deploy-target-content.js'
import {
  type ContractContext,
  type DeployTargetUnderTest,
  type FreshTarget,
  upload,
} from './deploy-target-context.js'
import { faultScenarios } from './deploy-target-faults.js'
import { scenarios } from './scenario.js'
import type { TargetFiles } from './target-files.js'

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
  const scratch = (name: string) => join(dir, `${name} ${++sources}`)
  async function release(n: number, files: Record<string, string>): Promise<Release> {
    const src = scratch('src')
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(src, path, '..'), { recursive: true })
      await writeFile(join(src, path), text)
    }
    return { id: n.toString(16).padStart(40, 'a'), dir: src }
  }
  const age = (files: TargetFiles, id: string, minutes: number) =>
    files.age(`releases/${id}/${RELEASE_MARKER}`, minutes * 60)
  const ctx: ContractContext = {
    impl,
    scenario,
    fresh,
    release,
    age,
    scratch,
    blog: {
      get first() {
        return first
      },
      get second() {
        return second
      },
    },
  }

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

  contentScenarios(ctx)
  faultScenarios(ctx)
  done()
}
