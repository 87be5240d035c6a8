import { spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import type { ReportFile } from '../../runner/types.js'

export interface DirectRun {
  /** Wall time of the command alone: spawn → its exit with stdout and stderr closed. */
  ms: number
  exitCode: number | null
  timedOut: boolean
  /** The last 4 KiB of stderr, for the message when a run goes wrong. */
  stderrTail: string
  report: ReportFile
}

const TAIL_BYTES = 4096

/**
 * Runs `command` directly as a child process in a fresh copy of `workspace` (without `.git`),
 * with an environment like the local runner's (PATH, a fresh HOME and TMPDIR, LANG=C.UTF-8).
 * The copy and its removal are not timed: only the command is.
 */
export async function runDirect(opts: {
  workspace: string
  scratch: string
  command: readonly string[]
  junitPath: string
  timeoutMs: number
}): Promise<DirectRun> {
  const [program, ...args] = opts.command
  if (program === undefined) throw new Error('the command is empty')
  const dir = await mkdtemp(path.join(opts.scratch, 'direct-'))
  try {
    const work = path.join(dir, 'work')
    const home = path.join(dir, 'home')
    const tmp = path.join(dir, 'tmp')
    await cp(opts.workspace, work, {
      recursive: true,
      filter: (source) => path.relative(opts.workspace, source).split(path.sep)[0] !== '.git',
    })
    await mkdir(home)
    await mkdir(tmp)
    const env = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: home,
      TMPDIR: tmp,
      LANG: 'C.UTF-8',
    }
    const { ms, exitCode, timedOut, stderrTail } = await timeCommand(
      program,
      args,
      work,
      env,
      opts.timeoutMs,
    )
    return { ms, exitCode, timedOut, stderrTail, report: await readReport(work, opts.junitPath) }
  } finally {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  }
}

function timeCommand(
  program: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<Omit<DirectRun, 'report'>> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(program, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = Buffer.alloc(0)
    let timedOut = false
    child.stdout.resume()
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]).subarray(-TAIL_BYTES)
    })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      const ms = performance.now() - started
      clearTimeout(timer)
      resolve({ ms, exitCode: code, timedOut, stderrTail: stderr.toString('utf8') })
    })
  })
}

async function readReport(work: string, junitPath: string): Promise<ReportFile> {
  try {
    return { kind: 'found', xml: await readFile(path.join(work, junitPath)) }
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { kind: 'missing' }
    throw error
  }
}
