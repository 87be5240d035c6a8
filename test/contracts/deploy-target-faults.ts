import { randomBytes } from 'node:crypto'
import { cp, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { DeployError } from '../../src/deploy/types.js'
import { type ContractContext, upload } from './deploy-target-context.js'

/**
 * The DeployTarget contract's faults: what a killed, refused, cancelled or disk-full upload
 * leaves (the live release, always; nothing half-made that counts as a release).
 */
export function faultScenarios({
  impl,
  scenario,
  fresh,
  release,
  scratch,
  blog,
}: ContractContext): void {
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
      await upload(target, blog.first)
      await target.activate(blog.first.id)
      // The blog and 2 MiB that cannot be compressed, on a 1 MiB disk.
      const big = { id: 'e'.repeat(40), dir: scratch('big') }
      await cp(blog.first.dir, big.dir, { recursive: true })
      await writeFile(join(big.dir, 'public/big.bin'), randomBytes(2 * 1024 * 1024))
      const error = await upload(target, big).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DeployError)
      expect(error).toMatchObject({ code: 'no-space', target: impl.kind })
      expect((error as Error).message).toMatch(impl.noSpaceMessage)
      expect(await target.state()).toEqual({ current: blog.first.id, releases: [blog.first.id] })
      if (impl.removesPartialAtOnce) expect(await files.list('releases')).toEqual([blog.first.id])
      if (page !== undefined) expect((await page('/')).body).toContain('A small PHP blog')
      else expect(await files.readlink('current')).toBe(`releases/${blog.first.id}`)
      // The space came back: a smaller release fits again, and nothing half-made is left.
      const r3 = await release(3, { 'index.html': 'three' })
      await upload(target, r3)
      expect(await files.list('releases')).toEqual([blog.first.id, r3.id].sort())
    },
    { skip: impl.smallDisk === undefined },
  )
}
