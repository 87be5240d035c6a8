import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkReportPath } from '../report-path.js'
import { SANDBOX_PATH, sandboxArgv } from '../sandbox/bwrap.js'
import { probeSandbox } from '../sandbox/probe-sandbox.js'
import { DEFAULT_SANDBOX, type SandboxSettings } from '../sandbox/sandbox-settings.js'
import {
  type ReportFile,
  type Runner,
  RunnerError,
  type RunRequest,
  type RunResult,
} from '../types.js'
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
  /** How the command is confined; default the bubblewrap sandbox with default limits. */
  sandbox?: SandboxSettings
}

const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin'

/**
 * A runner on the DevSys host. The command runs in the bubblewrap sandbox (runner/sandbox):
 * as an unprivileged user, in its own pid and network namespaces, seeing the system read-only
 * and a copy of the work tree in a size-limited folder of its own; the report comes back
 * through a pipe. Only when the server sets DEVSYS_UNSAFE_NO_SANDBOX=true does it run as a
 * plain child process of DevSys (on a copy, with an environment built from scratch).
 */
export function createLocalRunner(opts: LocalRunnerOptions = {}): Runner {
  const killGraceMs = opts.killGraceMs ?? 5000
  const sandbox = opts.sandbox ?? DEFAULT_SANDBOX
  return {
    kind: 'local',
    async run(request: RunRequest): Promise<RunResult> {
      const reportPath = checkReportPath(request.junitPath)
      if (request.signal.aborted) throw aborted()
      if (sandbox.enabled) {
        const probe = await probeSandbox(sandbox)
        if (!probe.ok) throw new RunnerError('unavailable', 'local', probe.message)
      }
      const started = Date.now()
      // 1. A run directory of our own: work/ (the copy), home/ (HOME) and tmp/ (TMPDIR).
      const runDir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'devsys-run-'))
      try {
        const work = join(runDir, 'work')
        const home = join(runDir, 'home')
        const tmp = join(runDir, 'tmp')
        await Promise.all([mkdir(home, { mode: 0o700 }), mkdir(tmp, { mode: 0o700 })])
        await copyWorkspace(request.workspace, work, request)
        if (sandbox.enabled) {
          return await runSandboxed(sandbox, work, reportPath, request, killGraceMs, started)
        }

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
          workdir: work,
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

/**
 * Inside the sandbox a fixed script (no user text: paths and the command are its arguments)
 * copies the work tree into /work, a tmpfs of SANDBOX_DISK_MB, runs the command with fd 3
 * closed, then writes `C` (copied), and `R` plus the report when it is a file inside /work, to
 * fd 3. Nothing the command writes outlives the run.
 */
const IN_SANDBOX = `report=$1; limit=$2; shift 2
find /in -mindepth 1 -maxdepth 1 -exec cp -R --preserve=mode,timestamps -t /work {} + || exit 125
printf C >&3
cd /work || exit 125
unset OLDPWD PWD
"$@" 3>&-
status=$?
if [ -f "$report" ]; then
  case $(realpath -e -- "$report") in /work/*)
    size=$(wc -c < "$report")
    printf 'R%s\\n' "$size" >&3
    [ "$size" -le "$limit" ] && cat -- "$report" >&3 ;;
  esac
fi
exit $status`

async function runSandboxed(
  settings: SandboxSettings,
  work: string,
  reportPath: string,
  request: RunRequest,
  killGraceMs: number,
  started: number,
): Promise<RunResult> {
  const limit = request.maxReportBytes
  const argv = sandboxArgv(settings, {
    argv: ['sh', '-c', IN_SANDBOX, 'devsys-run', reportPath, String(limit), ...request.command],
    cwd: '/work',
    env: { PATH: SANDBOX_PATH, HOME: '/tmp', TMPDIR: '/tmp', LANG: 'C.UTF-8', ...request.env },
    mounts: [{ host: work, inside: '/in' }],
    scratch: ['/work'],
  })
  request.log.info({ runner: 'local', sandbox: 'bwrap', command: request.command }, 'running tests')
  const run = await runProcess({
    argv,
    cwd: work,
    env: { PATH: SANDBOX_PATH },
    timeoutMs: request.timeoutMs,
    killGraceMs,
    maxOutputBytes: request.maxOutputBytes,
    signal: request.signal,
    fd3MaxBytes: limit + 32,
    sandboxed: true,
  })
  if (run.aborted) throw aborted()
  const handback = run.fd3 ?? Buffer.alloc(0)
  if (handback[0] !== 0x43 && !run.timedOut) {
    throw new RunnerError(
      'upload-failed',
      'local',
      `The work tree could not be copied into the sandbox (larger than SANDBOX_DISK_MB?): ${run.stderr.text.trim().slice(-500) || `exit ${String(run.exitCode)}`}`,
    )
  }
  return {
    runner: 'local',
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    durationMs: Date.now() - started,
    workdir: '/work',
    stdout: run.stdout,
    stderr: run.stderr,
    report: handedBackReport(handback.subarray(1), request.maxReportBytes),
  }
}

/** The report part of what the sandbox wrote to fd 3: `R<size>\n<bytes>`, or nothing. */
function handedBackReport(data: Buffer, maxBytes: number): ReportFile {
  const newline = data.indexOf(0x0a)
  if (data[0] !== 0x52 || newline < 0) return { kind: 'missing' }
  const size = Number(data.subarray(1, newline).toString('latin1').trim())
  const xml = data.subarray(newline + 1)
  if (size > maxBytes || xml.length > maxBytes)
    return { kind: 'too-large', bytes: Math.max(size, xml.length) }
  // Shorter than announced: the report changed while it was read (a leftover process).
  if (xml.length !== size) return { kind: 'missing' }
  return { kind: 'found', xml }
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
