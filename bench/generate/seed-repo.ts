import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { git } from './plain-git.js'

export interface SeededRepo {
  /** The bare repository standing in for GitHub. */
  bareDir: string
  /** Its `file://` URL: clones and pushes go through git's pack transport, as with GitHub. */
  url: string
  /** Paths on `main`. */
  files: string[]
  commits: number
  /** Bytes of the files on `main` and of the bare repository on disk. */
  worktreeBytes: number
  bareBytes: number
}

const WORDS = (
  'const let function return import export from async await if else for while class new this ' +
  'value result error options config request response handler state items index count total ' +
  'render update create delete fetch parse format validate user post comment page route model'
).split(' ')

/** A small deterministic PRNG (mulberry32), so every run seeds byte-identical repositories. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Source-like text (compresses like code does) or, for one file in 20, incompressible bytes. */
function fileContent(index: number, revision: number, random: () => number): Buffer {
  if (index % 20 === 19) {
    const bytes = Buffer.alloc(16_384 + Math.floor(random() * 49_152))
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256)
    return bytes
  }
  const lines: string[] = [`// file ${index}, revision ${revision}`]
  const target = 1_024 + Math.floor(random() * 8_192)
  let size = 0
  while (size < target) {
    const words = Array.from(
      { length: 4 + Math.floor(random() * 10) },
      () => `${WORDS[Math.floor(random() * WORDS.length)]}${Math.floor(random() * 100)}`,
    )
    const line = `  ${words.join(' ')};`
    lines.push(line)
    size += line.length + 1
  }
  return Buffer.from(`${lines.join('\n')}\n`)
}

function filePath(index: number): string {
  const ext = index % 20 === 19 ? 'bin' : 'ts'
  return `packages/pkg-${Math.floor(index / 50)}/src/module-${index % 50}.${ext}`
}

async function sizeOf(dir: string): Promise<number> {
  const out = await git(dir, ['count-objects', '-v'])
  const kib = (key: string) => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(out)?.[1] ?? 0)
  return (kib('size') + kib('size-pack')) * 1024
}

/**
 * Creates `<root>/remote.git` (`git init --bare -b main`) holding `files` files over `commits`
 * commits on main: the first adds them all, each later one rewrites a tenth of them.
 */
export async function seedBareRepo(input: {
  root: string
  files: number
  commits: number
}): Promise<SeededRepo> {
  const bareDir = path.join(input.root, 'remote.git')
  const work = path.join(input.root, 'seed')
  const random = prng(0x5eed)
  await mkdir(work, { recursive: true })
  await git(input.root, ['init', '--quiet', '--bare', '-b', 'main', bareDir])
  await git(input.root, ['init', '--quiet', '-b', 'main', work])
  const paths = Array.from({ length: input.files }, (_, i) => filePath(i))
  let worktreeBytes = 0
  for (let commit = 0; commit < input.commits; commit++) {
    const changed =
      commit === 0
        ? paths.map((_, i) => i)
        : Array.from({ length: Math.max(1, Math.floor(input.files / 10)) }, () =>
            Math.floor(random() * input.files),
          )
    for (const i of changed) {
      const target = path.join(work, paths[i] ?? filePath(i))
      await mkdir(path.dirname(target), { recursive: true })
      await writeFile(target, fileContent(i, commit, random))
    }
    await writeFile(path.join(work, 'README.md'), `# Bench repository\n\nRevision ${commit}.\n`)
    await git(work, ['add', '-A'])
    await git(work, ['commit', '--quiet', '--message', `Seed commit ${commit + 1}`])
  }
  for (const file of [...paths, 'README.md'])
    worktreeBytes += (await stat(path.join(work, file))).size
  await git(work, ['push', '--quiet', bareDir, 'main:refs/heads/main'])
  await rm(work, { recursive: true, force: true })
  return {
    bareDir,
    url: pathToFileURL(bareDir).href,
    files: [...paths, 'README.md'],
    commits: input.commits,
    worktreeBytes,
    bareBytes: await sizeOf(bareDir),
  }
}
