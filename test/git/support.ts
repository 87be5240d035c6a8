import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { type Logger, pino } from 'pino'
import { type SimpleGit, simpleGit } from 'simple-git'
import { GitError } from '../../src/git/git-error.js'
import type { CommitIdentity, GitRepo } from '../../src/git/types.js'

/** Someone other than DevSys, for seeding the "GitHub" repository and racing DevSys's pushes. */
const HUMAN = ['user.name=Test Human', 'user.email=human@example.test', 'commit.gpgsign=false']

export const BOT: CommitIdentity = {
  name: 'devsys[bot]',
  email: '123+devsys[bot]@users.noreply.github.com',
  coAuthors: [{ name: 'Octo Cat', email: '583231+octocat@users.noreply.github.com' }],
}

/** git in `dir` as a human with a config of its own, for the test's side of things. */
export function humanGit(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, config: HUMAN })
}

/** A fresh directory tree for one test: root, cacheDir, tmpDir (counted) and remotes. */
export async function makeSandbox(): Promise<{
  root: string
  cacheDir: string
  tmpDir: string
  remove(): Promise<void>
}> {
  const root = await mkdtemp(join(tmpdir(), 'devsys-git-test-'))
  const cacheDir = join(root, 'cache')
  const tmpDir = join(root, 'tmp')
  await mkdir(tmpDir, { recursive: true })
  return { root, cacheDir, tmpDir, remove: () => rm(root, { recursive: true, force: true }) }
}

/**
 * A bare repository standing in for GitHub at `<dir>/<name>.git`, seeded with one commit on main
 * holding README.md. Returns its GitRepo with the path as the clone URL.
 */
export async function makeRemote(
  dir: string,
  fullName: string,
): Promise<GitRepo & { bare: string }> {
  const bare = join(dir, `${fullName}.git`)
  await mkdir(bare, { recursive: true })
  await simpleGit(bare).raw(['init', '--bare', '--quiet', '-b', 'main'])
  const repo = { fullName, cloneUrl: bare, defaultBranch: 'main', bare }
  await pushAsHuman(dir, repo, 'main', { 'README.md': '# seed\n' }, 'Initial commit')
  return repo
}

/** Pushes a commit with `files` to `branch` of the remote from a separate clone. Returns its sha. */
export async function pushAsHuman(
  scratch: string,
  repo: { cloneUrl: string },
  branch: string,
  files: Record<string, string>,
  message: string,
): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'human-'))
  const git = humanGit(dir)
  await git.raw(['init', '--quiet', '-b', branch])
  await git.raw(['remote', 'add', 'origin', repo.cloneUrl])
  const remote = await git.raw(['ls-remote', 'origin', `refs/heads/${branch}`])
  if (remote.trim()) {
    await git.raw(['fetch', '--quiet', 'origin', branch])
    await git.raw(['reset', '--hard', '--quiet', 'FETCH_HEAD'])
  }
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  await git.raw(['add', '--all'])
  await git.raw(['commit', '--quiet', '-m', message])
  await git.raw(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`])
  const sha = (await git.raw(['rev-parse', 'HEAD'])).trim()
  await rm(dir, { recursive: true, force: true })
  return sha
}

/** The commit `branch` points at in the bare repository, or undefined. */
export async function tipOf(bare: string, branch: string): Promise<string | undefined> {
  const out = await simpleGit(bare).raw([
    'for-each-ref',
    '--format=%(objectname)',
    `refs/heads/${branch}`,
  ])
  return out.trim() || undefined
}

/** Every file below `dir`, recursively. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

/** Files below `dir` whose bytes contain any of `needles`. */
export async function filesContaining(dir: string, needles: string[]): Promise<string[]> {
  const hits: string[] = []
  for (const file of await listFiles(dir)) {
    const bytes = await readFile(file)
    if (needles.some((needle) => bytes.includes(needle))) hits.push(file)
  }
  return hits
}

/** A logger whose parsed JSON lines are kept. */
export function capturingLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  )
  return { log, lines }
}

export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** The GitError `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function gitErrorOf(promise: Promise<unknown>): Promise<GitError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
  if (!('error' in outcome)) throw new Error(`expected a GitError, got ${String(outcome.value)}`)
  if (!(outcome.error instanceof GitError)) throw outcome.error
  return outcome.error
}
