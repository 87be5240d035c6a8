import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  diffReleases,
  listReleaseFiles,
  type ReleaseFiles,
  ReleaseFilesError,
  sameFile,
} from '../../src/deploy/release-files.js'
import { packRelease } from '../../src/deploy/targets/pack-release.js'
import { parseReleaseMarker, RELEASE_MARKER } from '../../src/deploy/targets/release-plan.js'

const run = promisify(execFile)

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

describe('listReleaseFiles in a git checkout', () => {
  const git = (...args: string[]) =>
    run('git', ['-C', join(dir, 'site'), ...args], {
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    }).then((r) => r.stdout.trim())
  const commit = async () => {
    await git('add', '--all', '.')
    await git('-c', 'user.name=t', '-c', 'user.email=t@devsys.invalid', 'commit', '-qm', 'release')
  }

  it('records blob ids, and takes unchanged files from `known` without reading them', async () => {
    await put('a.txt', 'aaaa')
    await put('b.txt', 'bbbb')
    await git('init', '-q')
    await commit()
    const site = join(dir, 'site')
    const first = await listReleaseFiles(site)
    expect(first.get('a.txt')).toEqual({
      sha256: sha('aaaa'),
      size: 4,
      mode: 0o644,
      blob: await git('hash-object', 'a.txt'),
    })
    // A recorded hash that the content does not have: only a listing that did not read a.txt
    // can return it, which is what a one-file redeploy relies on.
    const known: ReleaseFiles = new Map(
      [...first].map(([p, f]) => [p, { ...f, sha256: 'f'.repeat(64) }]),
    )
    const again = await listReleaseFiles(site, { known })
    expect(again.get('a.txt')?.sha256).toBe('f'.repeat(64))
    // An edit git has not seen (same size, not committed) is read and hashed, blob or not.
    await put('a.txt', 'AAAA')
    const edited = await listReleaseFiles(site, { known })
    expect(edited.get('a.txt')?.sha256).toBe(sha('AAAA'))
    expect(edited.get('b.txt')?.sha256).toBe('f'.repeat(64))
    // Committed, its blob differs from the known one: read and hashed too.
    await commit()
    const committed = await listReleaseFiles(site, { known })
    expect(committed.get('a.txt')).toMatchObject({
      sha256: sha('AAAA'),
      blob: await git('hash-object', 'a.txt'),
    })
  })

  it('leaves the hash empty with hash: false, for packRelease to fill in as it reads', async () => {
    await put('a.txt', 'aaaa')
    await put('big.bin', 'x'.repeat(2 * 1024 * 1024))
    const site = join(dir, 'site')
    const files = await listReleaseFiles(site, { hash: false })
    expect(files.get('a.txt')).toEqual({ sha256: '', size: 4, mode: 0o644 })
    const { stream } = packRelease(site, { id: 'a'.repeat(40), files }, new Set(files.keys()), {
      prefix: '',
    })
    const extracted = join(dir, 'out')
    await mkdir(extracted)
    await pipeline(stream, createWriteStream(join(dir, 'release.tar')))
    await run('tar', ['-xf', join(dir, 'release.tar'), '-C', extracted])
    // Hashed on the way (small file read at once, big one streamed), and so in the marker.
    expect(files.get('a.txt')?.sha256).toBe(sha('aaaa'))
    expect(files.get('big.bin')?.sha256).toBe(sha('x'.repeat(2 * 1024 * 1024)))
    const marker = parseReleaseMarker(await readFile(join(extracted, RELEASE_MARKER), 'utf8'))
    expect(marker?.files.get('big.bin')?.sha256).toBe(sha('x'.repeat(2 * 1024 * 1024)))
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
