import { spawn } from 'node:child_process'
import { OutputTail } from '../output-tail.js'
import type { CapturedOutput } from '../types.js'

export interface RunProcessOptions {
  /** The command as an argument list; run without a shell. */
  argv: readonly string[]
  cwd: string
  /** The whole environment (nothing is inherited). */
  env: Record<string, string>
  timeoutMs: number
  /** Time between SIGTERM and SIGKILL to the process group. */
  killGraceMs: number
  maxOutputBytes: number
  signal: AbortSignal
}

export interface ProcessRun {
  /** null when the command was ended by a signal. */
  exitCode: number | null
  /** The signal that ended the command, if one did. */
  exitSignal: NodeJS.Signals | null
  /** Why the command could not start at all (ENOENT, EACCES), when it could not. */
  startError?: NodeJS.ErrnoException
  timedOut: boolean
  aborted: boolean
  stdout: CapturedOutput
  stderr: CapturedOutput
}

/**
 * Runs a command in its own process group and waits for it. On timeout or abort the whole
 * group gets SIGTERM, then SIGKILL after the grace period; after a normal exit the group is
 * ended the same way, so servers a test started in the background (php -S) do not outlive the
 * run. A command that cannot start (not found) resolves like a shell would: exit code 127 and
 * the reason on stderr, because that is a test failure the user fixes in their config.
 */
export async function runProcess(opts: RunProcessOptions): Promise<ProcessRun> {
  const stdout = new OutputTail(opts.maxOutputBytes)
  const stderr = new OutputTail(opts.maxOutputBytes)
  const [command, ...args] = opts.argv
  if (command === undefined) throw new Error('runProcess needs a command')

  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    shell: false,
    // Its own process group, so one kill(-pid) reaches everything the command started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= child.pid === undefined ? Promise.resolve() : endGroup(child.pid, opts.killGraceMs)
    return stopping
  }
  let timedOut = false
  let aborted = false
  const timer = setTimeout(() => {
    timedOut = true
    void stop()
  }, opts.timeoutMs)
  const onAbort = (): void => {
    aborted = true
    void stop()
  }
  if (opts.signal.aborted) onAbort()
  else opts.signal.addEventListener('abort', onAbort, { once: true })

  try {
    const exit = await new Promise<{
      code: number | null
      signal: NodeJS.Signals | null
      error?: NodeJS.ErrnoException
    }>((resolve) => {
      child.once('error', (error) => resolve({ code: 127, signal: null, error }))
      child.once('exit', (code, signal) => resolve({ code, signal }))
    })
    if (exit.error !== undefined) {
      stderr.push(Buffer.from(`cannot start ${JSON.stringify(command)}: ${exit.error.message}\n`))
    }
    await stop()
    // The pipes close once every holder is gone; do not wait forever for one that escaped the
    // group with setsid.
    await Promise.race([closed, delay(1000)])
    return {
      exitCode: exit.code,
      exitSignal: exit.signal,
      ...(exit.error === undefined ? {} : { startError: exit.error }),
      timedOut,
      aborted,
      stdout: stdout.result(),
      stderr: stderr.result(),
    }
  } finally {
    clearTimeout(timer)
    opts.signal.removeEventListener('abort', onAbort)
    child.stdout.destroy()
    child.stderr.destroy()
  }
}

/** SIGTERM to the group, then SIGKILL if any member is still there after the grace period. */
async function endGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    await delay(50)
    if (!signalGroup(pgid, 0)) return
  }
  signalGroup(pgid, 'SIGKILL')
}

/** Sends a signal to a process group; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
