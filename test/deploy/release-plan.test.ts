import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReleaseFiles } from '../../src/deploy/release-files.js'
import {
  checkReleaseId,
  checkSharedPaths,
  formatReleaseMarker,
  listDeployFiles,
  parseReleaseMarker,
  parseStateOutput,
  RELEASE_MARKER,
  releasesToPrune,
  sharedLinkTarget,
} from '../../src/deploy/targets/release-plan.js'
import { activateRequest, scriptArgv } from '../../src/deploy/targets/php-scripts.js'
import { DeployError } from '../../src/deploy/types.js'

const run = promisify(execFile)
const ID = 'a'.repeat(40)

describe('release plan (the layout of all three targets)', () => {
  it('accepts only git tree ids as release ids', () => {
    expect(checkReleaseId(ID, 'ssh')).toBe(ID)
    expect(checkReleaseId('b'.repeat(64), 'php')).toBe('b'.repeat(64))
    for (const bad of ['', '../etc', `${ID}/x`, 'A'.repeat(40), `${ID} `, '$(id)']) {
      expect(() => checkReleaseId(bad, 'ssh')).toThrow(/is not a release id/)
    }
  })

  it('keeps shared folders inside the release and links them from its depth', () => {
    expect(checkSharedPaths(['uploads/', 'var/cache'])).toEqual(['uploads', 'var/cache'])
    for (const bad of ['', '/etc', '../up', 'a/../b', 'a//b', './a', '.']) {
      expect(() => checkSharedPaths([bad])).toThrow(/relative path inside the release/)
    }
    expect(sharedLinkTarget('uploads')).toBe('../../shared/uploads')
    expect(sharedLinkTarget('var/cache')).toBe('../../../shared/var/cache')
  })

  const sha = (text: string) => createHash('sha256').update(text).digest('hex')
  const files: ReleaseFiles = new Map([
    ['bin/run', { sha256: sha('#!/bin/sh\n'), size: 10, mode: 0o755 }],
    ['index.php', { sha256: sha('<?php'), size: 5, mode: 0o644 }],
  ])

  it('writes one marker format, {id, fileCount, files}, and reads it back', () => {
    const text = formatReleaseMarker({ id: ID, files })
    expect(RELEASE_MARKER).toBe('.devsys-release.json')
    expect(JSON.parse(text)).toEqual({
      id: ID,
      fileCount: 2,
      files: {
        'bin/run': { sha256: sha('#!/bin/sh\n'), size: 10, mode: 0o755 },
        'index.php': { sha256: sha('<?php'), size: 5, mode: 0o644 },
      },
    })
    expect(parseReleaseMarker(text)).toEqual({ id: ID, files })
  })

  it('reads a malformed marker, or one in another format, as none', () => {
    const good = JSON.parse(formatReleaseMarker({ id: ID, files }))
    for (const bad of [
      '',
      '[1,2]',
      'null',
      // The `{path: sha256}` marker of earlier ssh and php releases.
      JSON.stringify({ 'index.php': sha('<?php') }),
      JSON.stringify({ ...good, fileCount: 3 }),
      JSON.stringify({ ...good, files: { a: { sha256: 'x', size: 1, mode: 0o644 } } }),
      JSON.stringify({ ...good, files: { a: { sha256: sha('a'), size: 1, mode: 0o4755 } } }),
      JSON.stringify({ ...good, id: 7 }),
    ]) {
      expect(parseReleaseMarker(bad)).toBeNull()
    }
  })

  it('reads state output, ignoring temp folders and junk', () => {
    const m = RELEASE_MARKER
    const out = `releases/${ID}\n--sep--\nreleases/${'c'.repeat(40)}/${m}\nreleases/.tmp-x/${m}\nreleases/${ID}/${m}\n`
    expect(parseStateOutput(out, '--sep--')).toEqual({
      current: ID,
      previous: null,
      releases: ['c'.repeat(40), ID],
    })
    expect(parseStateOutput('empty\n--sep--\n', '--sep--')).toEqual({
      current: null,
      previous: null,
      releases: [],
    })
    // The second line is `previous`; a link names its release by its last segment.
    const two = `releases/${ID}\n/srv/site/releases/${'c'.repeat(40)}\n--sep--\n`
    expect(parseStateOutput(two, '--sep--')).toEqual({
      current: ID,
      previous: 'c'.repeat(40),
      releases: [],
    })
    expect(parseStateOutput(`releases/${ID}\nreleases/.tmp-x\n--sep--\n`, '--sep--')).toEqual({
      current: ID,
      previous: null,
      releases: [],
    })
  })

  it('prunes as every target does: current and previous count towards keep, then the newest', () => {
    const [r5, r4, r3, r2, r1] = ['5', '4', '3', '2', '1'].map((n) => n.repeat(40)) as [
      string,
      string,
      string,
      string,
      string,
    ]
    const newestFirst = [r5, r4, r3, r2, r1]
    // keep 2: current (2) and the newest other (5); nothing was live before 2.
    expect(releasesToPrune(newestFirst, [r2, null], 2)).toEqual([r4, r3, r1])
    // keep 1 with a previous: both protected, nothing else kept.
    expect(releasesToPrune(newestFirst, [r5, r2], 1)).toEqual([r4, r3, r1])
    expect(releasesToPrune(newestFirst, [r5, r2], 3)).toEqual([r3, r1])
    expect(releasesToPrune(newestFirst, [r5, r2], 0)).toEqual([r4, r3, r1])
    expect(releasesToPrune(newestFirst, [r5, r2], 5)).toEqual([])
    // A link to a release that is not complete protects nothing and takes no place.
    expect(releasesToPrune([r5, r4], [r5, 'f'.repeat(40)], 2)).toEqual([])
    expect(releasesToPrune([r5, r4, r3], [r5, 'f'.repeat(40)], 2)).toEqual([r3])
    expect(releasesToPrune([], [null, null], 0)).toEqual([])
  })

  describe('on disk', () => {
    let dir: string
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'devsys-plan-'))
    })
    afterAll(() => rm(dir, { recursive: true, force: true }))

    it('lists a release without .git, the skipped shared folders or a stray marker', async () => {
      const release = join(dir, 'release')
      for (const sub of ['.git', 'public', 'uploads'])
        await mkdir(join(release, sub), { recursive: true })
      await writeFile(join(release, '.git/HEAD'), 'ref')
      await writeFile(join(release, 'public/index.php'), '<?php echo 1;')
      await writeFile(join(release, 'uploads/photo.jpg'), 'jpg')
      await writeFile(join(release, RELEASE_MARKER), '{}')
      await symlink('public/index.php', join(release, 'index.php'))
      const remote = await listDeployFiles({ id: ID, dir: release }, 'ssh', {
        skipShared: ['uploads'],
      })
      // A link inside the release is deployed as a copy of its file.
      expect([...remote.keys()]).toEqual(['index.php', 'public/index.php'])
      expect(remote.get('index.php')?.sha256).toBe(sha('<?php echo 1;'))
      const local = await listDeployFiles({ id: ID, dir: release }, 'local')
      expect([...local.keys()]).toEqual(['index.php', 'public/index.php', 'uploads/photo.jpg'])
    })

    it('refuses a release with a link out of it as a DeployError of the target', async () => {
      const release = join(dir, 'leaky')
      await mkdir(join(release, 'public'), { recursive: true })
      await writeFile(join(dir, 'secret'), 'password')
      await symlink('../../secret', join(release, 'public/secret.txt'))
      const error = await listDeployFiles({ id: ID, dir: release }, 'php').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DeployError)
      expect(error).toMatchObject({ code: 'upload-failed', target: 'php' })
      expect((error as Error).message).toMatch(
        /^release a{40}: public\/secret\.txt is a symlink pointing outside the release/,
      )
      // Inside a skipped shared folder nothing is looked at: the host's own copy is used.
      await expect(
        listDeployFiles({ id: ID, dir: release }, 'ssh', { skipShared: ['public'] }),
      ).resolves.toEqual(new Map())
    })

    // The ssh target does the same over SFTP: test/deploy/ssh-target.test.ts.
    it('points `previous` at the release that was live, in the php script', async () => {
      const B = 'b'.repeat(40)
      const C = 'c'.repeat(64)
      const scripts = {
        php: (root: string, id: string) => {
          const [shell = 'sh', ...args] = scriptArgv(activateRequest(root, id))
          return run(shell, args)
        },
      }
      for (const [kind, activate] of Object.entries(scripts)) {
        const root = join(dir, `${kind} prev $(touch ${join(dir, 'pwned')}) 'q'`)
        for (const id of [ID, B, C]) {
          await mkdir(join(root, 'releases', id), { recursive: true })
          await writeFile(join(root, 'releases', id, RELEASE_MARKER), '{}')
        }
        const links = async () => (await readdir(root)).sort()
        await activate(root, ID)
        // The first switch has nothing before it.
        expect(await links()).toEqual(['current', 'releases'])
        await activate(root, B)
        expect(await readlink(join(root, 'previous'))).toBe(`releases/${ID}`)
        // Switching to what is live already leaves `previous` alone.
        await activate(root, B)
        expect(await readlink(join(root, 'previous'))).toBe(`releases/${ID}`)
        await activate(root, C)
        expect(await readlink(join(root, 'current'))).toBe(`releases/${C}`)
        expect(await readlink(join(root, 'previous'))).toBe(`releases/${B}`)
        // A rollback to previous makes the release it leaves the new previous.
        await activate(root, B)
        expect(await readlink(join(root, 'previous'))).toBe(`releases/${C}`)
        // A `current` that names no release (made by hand) gives no `previous`: exit 0 all the same.
        await rm(join(root, 'previous'))
        for (const odd of ['somewhere/else', 'releases/abc', `releases/${ID}0`]) {
          await rm(join(root, 'current'))
          await symlink(odd, join(root, 'current'))
          await activate(root, ID)
          expect(await links()).toEqual(['current', 'releases'])
          expect(await readlink(join(root, 'current'))).toBe(`releases/${ID}`)
        }
      }
      await expect(run('test', ['-e', join(dir, 'pwned')])).rejects.toBeTruthy()
    })
  })
})
