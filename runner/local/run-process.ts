import { spawn } from 'node:child_process'
import { OutputTail } from '../output-tail.js'
import { killSandbox } from '../sandbox/kill-sandbox.js'
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
  /**
   * Also read file descriptor 3 of the command, keeping at most this many bytes (the pipe is
   * closed after that): how a sandboxed run hands back its report without a shared folder.
   */
  fd3MaxBytes?: number
  /**
   * The command is bubblewrap (runner/sandbox): stopping it freezes it and kills the sandbox
   * outright (killSandbox), since its pid 1 lives in a session of its own.
   */
  sandboxed?: boolean
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
  /** What the command wrote to file descriptor 3 (with `fd3MaxBytes`), up to that limit. */
  fd3?: Buffer
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
    stdio:
      opts.fd3MaxBytes === undefined
        ? ['ignore', 'pipe', 'pipe']
        : ['ignore', 'pipe', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk))
  const fd3 =
    opts.fd3MaxBytes === undefined ? undefined : readLimited(child.stdio[3], opts.fd3MaxBytes)
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??=
      child.pid === undefined
        ? Promise.resolve()
        : opts.sandboxed
          ? killSandbox(child.pid).then(() => endGroup(child.pid ?? 0, opts.killGraceMs))
          : endGroup(child.pid, opts.killGraceMs)
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
    // After `close` everything written is read; otherwise stop waiting for an escaped holder.
    child.stdio[3]?.destroy()
    const extra = fd3 === undefined ? undefined : await fd3
    return {
      exitCode: exit.code,
      exitSignal: exit.signal,
      ...(exit.error === undefined ? {} : { startError: exit.error }),
      timedOut,
      aborted,
      stdout: stdout.result(),
      stderr: stderr.result(),
      ...(extra === undefined ? {} : { fd3: extra }),
    }
  } finally {
    clearTimeout(timer)
    opts.signal.removeEventListener('abort', onAbort)
    for (const stream of child.stdio) stream?.destroy()
  }
}

/** Collects a stream up to `maxBytes`, then stops reading it; resolves when it ends. */
function readLimited(stream: unknown, maxBytes: number): Promise<Buffer> {
  const readable = stream as NodeJS.ReadableStream & { destroy(): void }
  return new Promise((done) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = () => done(Buffer.concat(chunks).subarray(0, maxBytes))
    readable.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size >= maxBytes) {
        readable.destroy()
        finish()
      }
    })
    readable.once('end', finish)
    readable.once('close', finish)
    readable.once('error', finish)
  })
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
