import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Who the seed and baseline commits are by; passed through the environment like DevSys does. */
const IDENTITY = {
  GIT_AUTHOR_NAME: 'Bench Baseline',
  GIT_AUTHOR_EMAIL: 'baseline@localhost',
  GIT_COMMITTER_NAME: 'Bench Baseline',
  GIT_COMMITTER_EMAIL: 'baseline@localhost',
}

/**
 * The environment of every plain git command: no global or system config, as for DevSys's own
 * git commands (src/git/git-env.ts), so the machine's ~/.gitconfig changes neither side.
 */
function plainGitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    ...IDENTITY,
  }
  for (const name of ['PATH', 'HOME', 'TMPDIR'] as const) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/** Runs `git <args>` in `cwd` and returns its stdout; a non-zero exit rejects with stderr. */
export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd,
    env: plainGitEnv(),
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
  })
  return stdout
}

export interface BaselinePhases {
  clone: number
  write: number
  commit: number
  push: number
  cleanup: number
  total: number
}

/**
 * What a script without DevSys would do: a full clone of the remote, the generated files written
 * into it, `git add -A && git commit`, a push to `refs/heads/<branch>`, the clone removed.
 * Milliseconds per phase.
 */
export async function runBaseline(input: {
  url: string
  tmpRoot: string
  branch: string
  files: ReadonlyMap<string, Buffer>
  message: string
}): Promise<BaselinePhases> {
  const t0 = performance.now()
  const box = await mkdtemp(path.join(input.tmpRoot, 'baseline-'))
  const dir = path.join(box, 'repo')
  let t1 = t0
  let t2 = t0
  let t3 = t0
  let t4 = t0
  try {
    await git(box, ['clone', '--quiet', '--', input.url, dir])
    t1 = performance.now()
    for (const [file, content] of input.files) {
      const target = path.join(dir, file)
      await mkdir(path.dirname(target), { recursive: true })
      await writeFile(target, content)
    }
    t2 = performance.now()
    await git(dir, ['add', '-A'])
    await git(dir, ['commit', '--quiet', '--message', input.message])
    t3 = performance.now()
    await git(dir, ['push', '--quiet', 'origin', `HEAD:refs/heads/${input.branch}`])
    t4 = performance.now()
  } finally {
    await rm(box, { recursive: true, force: true, maxRetries: 3 })
  }
  const t5 = performance.now()
  return {
    clone: t1 - t0,
    write: t2 - t1,
    commit: t3 - t2,
    push: t4 - t3,
    cleanup: t5 - t4,
    total: t5 - t0,
  }
}
