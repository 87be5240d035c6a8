import { spawn } from 'node:child_process'

export interface RunAgentOptions {
  /** The command as an argument list; run without a shell. */
  argv: readonly string[]
  cwd: string
  /** The whole environment of the agent (nothing is inherited). */
  env: Record<string, string>
  timeoutMs: number
  /** How long the agent's process group gets between SIGTERM and SIGKILL. */
  killGraceMs: number
  /** Bytes of output (stdout and stderr, interleaved) kept for messages. */
  tailBytes: number
  signal: AbortSignal
}

export interface AgentRun {
  /** null when the agent was ended by a signal. */
  exitCode: number | null
  exitSignal: NodeJS.Signals | null
  timedOut: boolean
  /** All bytes the agent wrote to stdout and stderr, including those not kept. */
  outputBytes: number
  /** The last `tailBytes` of its output. */
  tail: string
}

/**
 * Runs an agent command in its own process group and waits for it. On timeout or abort the
 * whole group gets SIGTERM, then SIGKILL after the grace period; after a normal exit the group
 * is ended the same way, so nothing the agent started outlives it (unless it left the group
 * with setsid). Rejects with the abort reason when aborted and when the command cannot start.
 */
export async function runAgent(opts: RunAgentOptions): Promise<AgentRun> {
  const [command, ...args] = opts.argv
  if (command === undefined) throw new Error('runAgent needs a command')
  opts.signal.throwIfAborted()

  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    shell: false,
    // Its own process group, so a timeout can end everything it started with one kill(-pid).
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const tail = new OutputTail(opts.tailBytes)
  child.stdout.on('data', (chunk: Buffer) => tail.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => tail.push(chunk))
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= child.pid === undefined ? Promise.resolve() : endGroup(child.pid, opts.killGraceMs)
    return stopping
  }
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void stop()
  }, opts.timeoutMs)
  const onAbort = (): void => void stop()
  opts.signal.addEventListener('abort', onAbort, { once: true })

  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', reject)
        child.once('exit', (code, signal) => resolve({ code, signal }))
      },
    )
    await stop()
    // Output pipes close once every process holding them is gone; do not wait forever for a
    // process that escaped the group.
    await Promise.race([closed, delay(1000)])
    opts.signal.throwIfAborted()
    return {
      exitCode: exit.code,
      exitSignal: exit.signal,
      timedOut,
      outputBytes: tail.total,
      tail: tail.text(),
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

/** Keeps the last `cap` bytes of a stream and counts all of them. */
class OutputTail {
  private chunks: Buffer[] = []
  private size = 0
  total = 0

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length
    this.chunks.push(chunk)
    this.size += chunk.length
    while (this.size > this.cap) {
      const first = this.chunks[0]
      if (first === undefined) break
      const excess = this.size - this.cap
      if (first.length <= excess) {
        this.chunks.shift()
        this.size -= first.length
      } else {
        // A copy, so the rest of a large chunk is not kept alive by a view into it.
        this.chunks[0] = Buffer.from(first.subarray(excess))
        this.size -= excess
      }
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}
