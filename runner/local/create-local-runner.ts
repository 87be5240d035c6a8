import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkReportPath } from '../report-path.js'
import { type Runner, RunnerError, type RunRequest, type RunResult } from '../types.js'
import { listWorkspace } from '../workspace-files.js'
import { readLocalReport } from './read-report.js'
import { runProcess } from './run-process.js'

export interface LocalRunnerOptions {
  /** Where run directories are made; default the OS temp folder. */
  tmpDir?: string
  /** PATH of the test command; default DevSys's own PATH (programs, not secrets). */
  path?: string
  /** Time between SIGTERM and SIGKILL to the command's process group; default 5 s. */
  killGraceMs?: number
}

const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin'

/**
 * A runner that runs the test command as a child process of DevSys, on a copy of the
 * workspace in a temporary run directory (so a test cannot change the checkout), with an
 * environment built from scratch: nothing of DevSys's own environment (GitHub tokens, keys,
 * the webhook secret) reaches it. Not a security boundary against hostile code: use the docker
 * or remote-ssh runner for that.
 */
export function createLocalRunner(opts: LocalRunnerOptions = {}): Runner {
  const killGraceMs = opts.killGraceMs ?? 5000
  return {
    kind: 'local',
    async run(request: RunRequest): Promise<RunResult> {
      const reportPath = checkReportPath(request.junitPath)
      if (request.signal.aborted) throw aborted()
      const started = Date.now()
      // 1. A run directory of our own: work/ (the copy), home/ (HOME) and tmp/ (TMPDIR).
      const runDir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'devsys-run-'))
      try {
        const work = join(runDir, 'work')
        const home = join(runDir, 'home')
        const tmp = join(runDir, 'tmp')
        await Promise.all([mkdir(home, { mode: 0o700 }), mkdir(tmp, { mode: 0o700 })])
        await copyWorkspace(request.workspace, work, request)

        // 2. Run the command, without a shell, in its own process group.
        const env: Record<string, string> = {
          PATH: opts.path ?? process.env.PATH ?? FALLBACK_PATH,
          HOME: home,
          TMPDIR: tmp,
          LANG: 'C.UTF-8',
          ...request.env,
        }
        request.log.info({ runner: 'local', command: request.command }, 'running tests')
        const run = await runProcess({
          argv: request.command,
          cwd: work,
          env,
          timeoutMs: request.timeoutMs,
          killGraceMs,
          maxOutputBytes: request.maxOutputBytes,
          signal: request.signal,
        })
        if (run.aborted) throw aborted()

        // 3. The report, read inside the run directory only.
        const report = await readLocalReport(work, reportPath, request.maxReportBytes, request.log)
        return {
          runner: 'local',
          exitCode: run.exitCode,
          timedOut: run.timedOut,
          durationMs: Date.now() - started,
          stdout: run.stdout,
          stderr: run.stderr,
          report,
        }
      } finally {
        await removeTree(runDir, request)
      }
    },
  }
}

function aborted(): RunnerError {
  return new RunnerError('aborted', 'local', 'The test run was cancelled before it finished.')
}

/** Copies the work tree (see listWorkspace) with its file modes; folders stay writable. */
async function copyWorkspace(from: string, to: string, request: RunRequest): Promise<void> {
  const listing = await listWorkspace(from)
  if (listing.skipped.length > 0) {
    request.log.warn(
      { skipped: listing.skipped },
      'not copied into the run: links out or special files',
    )
  }
  await mkdir(to)
  for (const entry of listing.entries) {
    const target = join(to, entry.path)
    if (entry.kind === 'dir') await mkdir(target, { mode: entry.mode | 0o700 })
    else if (entry.kind === 'symlink') await symlink(entry.target, target)
    else {
      await copyFile(join(from, entry.path), target)
      await chmod(target, entry.mode)
    }
  }
}

/**
 * Removes a run directory even when a test left folders without write permission in it (as a
 * non-root user that stops rm); logs instead of throwing so cleanup never hides the result.
 */
async function removeTree(dir: string, request: RunRequest): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 2 })
  } catch {
    try {
      await makeWritable(dir)
      await rm(dir, { recursive: true, force: true, maxRetries: 2 })
    } catch (error) {
      request.log.error({ err: error, dir }, 'could not remove the run directory')
    }
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700)
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(join(dir, entry.name))
  }
}
