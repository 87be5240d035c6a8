import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
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
  sharedLinkTarget,
} from '../../src/deploy/targets/release-plan.js'
import { activateCommand, prepareCommand } from '../../src/deploy/targets/ssh-commands.js'
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
      releases: ['c'.repeat(40), ID],
    })
    expect(parseStateOutput('empty\n--sep--\n', '--sep--')).toEqual({ current: null, releases: [] })
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

    it('runs the ssh commands with a hostile root literally (through sh, as sshd would)', async () => {
      const root = join(dir, `r $(touch ${join(dir, 'pwned')}) \`id\` 'q' ; x`)
      await run('sh', ['-c', prepareCommand(root, ID, ['uploads'])])
      await mkdir(join(root, 'releases', ID))
      await writeFile(join(root, 'releases', ID, RELEASE_MARKER), '{}')
      await run('sh', ['-c', activateCommand(root, ID)])
      expect(await readlink(join(root, 'current'))).toBe(`releases/${ID}`)
      await expect(run('sh', ['-c', activateCommand(root, 'b'.repeat(40))])).rejects.toMatchObject({
        code: 3,
      })
      await expect(run('test', ['-e', join(dir, 'pwned')])).rejects.toBeTruthy()
    })

    it('never removes the live release for lack of a marker (an older format)', async () => {
      const root = join(dir, 'legacy')
      const live = join(root, 'releases', ID)
      await mkdir(live, { recursive: true })
      await writeFile(join(live, 'index.php'), 'live')
      await writeFile(join(live, '.devsys-files.json'), '{}')
      await symlink(`releases/${ID}`, join(root, 'current'))
      const error = await run('sh', ['-c', prepareCommand(root, ID, [])]).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 4 })
      expect((error as { stderr: string }).stderr).toMatch(
        /is the live release but has no \.devsys-release\.json.*deploy another commit first/,
      )
      expect(await readFile(join(live, 'index.php'), 'utf8')).toBe('live')
      // Once it is no longer live, the same folder is cleared for a fresh upload.
      await rm(join(root, 'current'))
      const { stdout } = await run('sh', ['-c', prepareCommand(root, ID, [])])
      expect(stdout).toMatch(/^live\n/)
      await expect(readFile(join(live, 'index.php'))).rejects.toMatchObject({ code: 'ENOENT' })
    })
  })
})
