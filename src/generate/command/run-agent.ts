import { runProcess } from '../../../runner/local/run-process.js'

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
 * Runs an agent command in its own process group and waits for it, through the same process
 * runner the local test runner uses (runner/local/run-process.ts): on timeout or abort the whole
 * group gets SIGTERM, then SIGKILL after the grace period, and after a normal exit the group is
 * ended too. Rejects with the abort reason when aborted, and with the spawn error when the
 * command cannot start (the generator reports that as a configuration problem).
 */
export async function runAgent(opts: RunAgentOptions): Promise<AgentRun> {
  opts.signal.throwIfAborted()
  const run = await runProcess({
    argv: opts.argv,
    cwd: opts.cwd,
    env: opts.env,
    timeoutMs: opts.timeoutMs,
    killGraceMs: opts.killGraceMs,
    maxOutputBytes: opts.tailBytes,
    signal: opts.signal,
  })
  if (run.startError) throw run.startError
  opts.signal.throwIfAborted()
  const streams = [run.stdout, run.stderr]
  const tail = streams
    .map((s) => s.text)
    .filter((text) => text !== '')
    .join('\n')
  return {
    exitCode: run.exitCode,
    exitSignal: run.exitSignal,
    timedOut: run.timedOut,
    outputBytes: streams.reduce((n, s) => n + Buffer.byteLength(s.text) + s.droppedBytes, 0),
    tail: Buffer.byteLength(tail) > opts.tailBytes ? tail.slice(-opts.tailBytes) : tail,
  }
}
