import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  diffReleases,
  listReleaseFiles,
  type ReleaseFiles,
  ReleaseFilesError,
  sameFile,
} from '../../src/deploy/release-files.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devsys-files-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

async function put(path: string, text: string, mode = 0o644): Promise<void> {
  const abs = join(dir, 'site', path)
  await mkdir(join(abs, '..'), { recursive: true })
  await writeFile(abs, text)
  await chmod(abs, mode)
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

describe('listReleaseFiles', () => {
  it('lists regular files by posix path with hash, size and mode, skipping .git', async () => {
    await put('public/index.php', '<?php echo 1;')
    await put('bin/run', '#!/bin/sh\n', 0o755)
    await put('.git/HEAD', 'ref: refs/heads/main\n')
    await put('sub/.git/config', 'x')
    await put('a.txt', 'a')
    const files = await listReleaseFiles(join(dir, 'site'))
    expect([...files.keys()]).toEqual(['a.txt', 'bin/run', 'public/index.php'])
    expect(files.get('bin/run')).toEqual({ sha256: sha('#!/bin/sh\n'), size: 10, mode: 0o755 })
    expect(files.get('public/index.php')?.mode).toBe(0o644)
  })

  it('follows a symlink to a file inside the release, as a copy of it', async () => {
    await put('real.txt', 'same')
    await symlink('real.txt', join(dir, 'site', 'alias.txt'))
    const files = await listReleaseFiles(join(dir, 'site'))
    expect(files.get('alias.txt')?.sha256).toBe(sha('same'))
  })

  it('refuses a symlink pointing out of the release, naming it', async () => {
    await put('ok.txt', 'ok')
    await writeFile(join(dir, 'secret'), 'password')
    await symlink('../secret', join(dir, 'site', 'leak.txt'))
    const error = await listReleaseFiles(join(dir, 'site')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ReleaseFilesError)
    expect((error as Error).message).toMatch(/^leak\.txt is a symlink pointing outside the release/)
  })

  it('refuses a symlink into .git, which is never part of the release', async () => {
    await put('.git/packed-refs', 'history')
    await symlink('.git/packed-refs', join(dir, 'site', 'public.txt'))
    await expect(listReleaseFiles(join(dir, 'site'))).rejects.toThrow(
      /^public\.txt is a symlink into \.git/,
    )
  })

  it('hashes big files (streamed) like small ones (read at once)', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024 + 7)
    await put('big.bin', big)
    await put('small.txt', 'small')
    const files = await listReleaseFiles(join(dir, 'site'))
    expect(files.get('big.bin')).toEqual({ sha256: sha(big), size: big.length, mode: 0o644 })
    expect(files.get('small.txt')?.sha256).toBe(sha('small'))
  })

  it('refuses symlinked directories and broken links', async () => {
    await put('d/f.txt', 'f')
    await symlink('d', join(dir, 'site', 'dlink'))
    await expect(listReleaseFiles(join(dir, 'site'))).rejects.toThrow(
      /dlink is a symlink to a directory/,
    )
    await rm(join(dir, 'site', 'dlink'))
    await symlink('nowhere', join(dir, 'site', 'broken'))
    await expect(listReleaseFiles(join(dir, 'site'))).rejects.toThrow(/broken is a broken symlink/)
  })

  it('leaves out what skip names', async () => {
    await put('keep.txt', 'k')
    await put('.marker.json', '{}')
    const files = await listReleaseFiles(join(dir, 'site'), { skip: (p) => p === '.marker.json' })
    expect([...files.keys()]).toEqual(['keep.txt'])
  })
})

describe('diffReleases', () => {
  const f = (sha256: string, mode = 0o644) => ({ sha256, size: 1, mode })
  it('splits paths into added, changed (content or mode) and removed, sorted', () => {
    const live: ReleaseFiles = new Map([
      ['same', f('1')],
      ['edited', f('1')],
      ['chmod', f('1')],
      ['gone', f('1')],
    ])
    const next: ReleaseFiles = new Map([
      ['z-new', f('2')],
      ['same', f('1')],
      ['edited', f('2')],
      ['chmod', f('1', 0o755)],
      ['a-new', f('3')],
    ])
    expect(diffReleases(next, live)).toEqual({
      added: ['a-new', 'z-new'],
      changed: ['chmod', 'edited'],
      removed: ['gone'],
    })
    expect(diffReleases(next, new Map()).added).toHaveLength(5)
  })

  it('counts a file as the same only with the same content and mode', () => {
    expect(sameFile(f('1'), f('1'))).toBe(true)
    expect(sameFile(f('1'), f('2'))).toBe(false)
    expect(sameFile(f('1'), f('1', 0o755))).toBe(false)
    expect(sameFile(undefined, f('1'))).toBe(false)
  })
})
