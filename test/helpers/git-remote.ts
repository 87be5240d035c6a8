import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Runs git in `cwd` and returns its trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Mona',
      GIT_AUTHOR_EMAIL: 'mona@example.com',
      GIT_COMMITTER_NAME: 'Mona',
      GIT_COMMITTER_EMAIL: 'mona@example.com',
    },
  }).trim()
}

/**
 * A stand-in for a GitHub repository: a bare repository (what `clone_url` points at in tests)
 * seeded with one commit on `main`.
 */
export function createRemote(root = mkdtempSync(join(tmpdir(), 'devsys-remote-'))): {
  root: string
  bare: string
} {
  const bare = join(root, 'Hello-World.git')
  const seed = join(root, 'seed')
  mkdirSync(seed)
  git(root, 'init', '--bare', '-q', '-b', 'main', bare)
  git(seed, 'init', '-q', '-b', 'main')
  writeFileSync(join(seed, 'README.md'), '# Hello World\n')
  git(seed, 'add', '-A')
  git(seed, 'commit', '-q', '-m', 'Initial commit')
  git(seed, 'push', '-q', bare, 'main')
  return { root, bare }
}

/** Files on `branch` of a bare repository, sorted. */
export function filesOn(bare: string, branch: string): string[] {
  return git(bare, 'ls-tree', '-r', '--name-only', branch).split('\n').filter(Boolean).sort()
}

/** Whether the bare repository has `branch`. */
export function hasBranch(bare: string, branch: string): boolean {
  return git(bare, 'branch', '--list', branch) !== ''
}
