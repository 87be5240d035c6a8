import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  checkReleaseId,
  checkSharedPaths,
  diffHashes,
  parseMarker,
  parseStateOutput,
  readLocalRelease,
  sharedLinkTarget,
} from '../../src/deploy/targets/release-plan.js'
import { activateCommand, prepareCommand } from '../../src/deploy/targets/ssh-commands.js'

const run = promisify(execFile)
const ID = 'a'.repeat(40)

describe('release plan (shared by the ssh and php targets)', () => {
  it('accepts only git tree ids as release ids', () => {
    expect(checkReleaseId(ID, 'ssh')).toBe(ID)
    expect(checkReleaseId('b'.repeat(64), 'php')).toBe('b'.repeat(64))
    for (const bad of ['', '../etc', `${ID}/x`, 'A'.repeat(40), `${ID} `, '$(id)']) {
      expect(() => checkReleaseId(bad, 'ssh')).toThrow(/is not a release id/)
    }
  })

  it('keeps shared folders inside the release and links them from its depth', () => {
    expect(checkSharedPaths(['uploads/', 'var/cache'])).toEqual(['uploads', 'var/cache'])
    for (const bad of ['', '/etc', '../up', 'a/../b', 'a//b', './a']) {
      expect(() => checkSharedPaths([bad])).toThrow(/relative path inside the release/)
    }
    expect(sharedLinkTarget('uploads')).toBe('../../shared/uploads')
    expect(sharedLinkTarget('var/cache')).toBe('../../../shared/var/cache')
  })

  it('diffs hashes into added, changed and removed, sorted', () => {
    const live = { 'a.php': '1', 'b.php': '2', 'gone.php': '3' }
    const next = { 'b.php': '2', 'a.php': 'x', 'z.php': '4', 'c.php': '5' }
    expect(diffHashes(next, live)).toEqual({
      added: ['c.php', 'z.php'],
      changed: ['a.php'],
      removed: ['gone.php'],
    })
  })

  it('reads a malformed marker as no previous release', () => {
    expect(parseMarker('')).toEqual({})
    expect(parseMarker('[1,2]')).toEqual({})
    expect(parseMarker('{"a": "1", "b": 2}')).toEqual({ a: '1' })
  })

  it('reads state output, ignoring temp folders and junk', () => {
    const out = `releases/${ID}\n--sep--\nreleases/${'c'.repeat(40)}/.devsys-files.json\nreleases/.tmp-x/.devsys-files.json\nreleases/${ID}/.devsys-files.json\n`
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

    it('hashes a release without .git, shared folders or a stray marker', async () => {
      const release = join(dir, 'release')
      for (const sub of ['.git', 'public', 'uploads'])
        await mkdir(join(release, sub), { recursive: true })
      await writeFile(join(release, '.git/HEAD'), 'ref')
      await writeFile(join(release, 'public/index.php'), '<?php echo 1;')
      await writeFile(join(release, 'uploads/photo.jpg'), 'jpg')
      await writeFile(join(release, '.devsys-files.json'), '{}')
      await symlink('public/index.php', join(release, 'index.php'))
      const local = await readLocalRelease(release, ['uploads'])
      expect(Object.keys(local.hashes).sort()).toEqual(['index.php', 'public/index.php'])
      const sha = (text: string) => createHash('sha256').update(text).digest('hex')
      expect(local.hashes['public/index.php']).toBe(sha('<?php echo 1;'))
      expect(local.hashes['index.php']).toBe(sha('symlink:public/index.php'))
      expect(local.entries.map((e) => e.path).sort()).toEqual([
        'index.php',
        'public',
        'public/index.php',
      ])
    })

    it('runs the ssh commands with a hostile root literally (through sh, as sshd would)', async () => {
      const root = join(dir, `r $(touch ${join(dir, 'pwned')}) \`id\` 'q' ; x`)
      await run('sh', ['-c', prepareCommand(root, ID, ['uploads'])])
      await mkdir(join(root, 'releases', ID))
      await writeFile(join(root, 'releases', ID, '.devsys-files.json'), '{}')
      await run('sh', ['-c', activateCommand(root, ID)])
      expect(await readlink(join(root, 'current'))).toBe(`releases/${ID}`)
      await expect(run('sh', ['-c', activateCommand(root, 'b'.repeat(40))])).rejects.toMatchObject({
        code: 3,
      })
      await expect(run('test', ['-e', join(dir, 'pwned')])).rejects.toBeTruthy()
    })
  })
})
