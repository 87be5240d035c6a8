import { access, constants } from 'node:fs/promises'
import { delimiter, isAbsolute, join } from 'node:path'
import { runProcess } from '../../../runner/local/run-process.js'
import type { SandboxMount } from '../../../runner/sandbox/bwrap.js'
import { SANDBOX_PATH, sandboxArgv } from '../../../runner/sandbox/bwrap.js'
import { handOver } from '../../../runner/sandbox/hand-over.js'
import { probeSandbox } from '../../../runner/sandbox/probe-sandbox.js'
import type { SandboxSettings } from '../../../runner/sandbox/sandbox-settings.js'
import { GenerateError } from '../types.js'

export interface RunAgentOptions {
  /** The command as an argument list; run without a shell. */
  argv: readonly string[]
  /** The workspace: the agent's working directory and the only folder it may write. */
  cwd: string
  /** The whole environment of the agent (nothing is inherited). */
  env: Record<string, string>
  timeoutMs: number
  /** How long the agent's process group gets between SIGTERM and SIGKILL. */
  killGraceMs: number
  /** Bytes of output (stdout and stderr, interleaved) kept for messages. */
  tailBytes: number
  signal: AbortSignal
  /** Where the agent runs: the sandbox, or (DEVSYS_UNSAFE_NO_SANDBOX) as DevSys's child. */
  sandbox: SandboxSettings
  /** In the sandbox: more host folders to show (the agent's own files, its binaries). */
  mounts?: SandboxMount[]
  /** In the sandbox: the network; default the server's SANDBOX_AGENT_NETWORK. */
  network?: SandboxSettings['network']
  /** In the sandbox: variables that replace the defaults (HOME and TMPDIR are /tmp). */
  sandboxEnv?: Record<string, string>
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
 *
 * In the sandbox the agent sees the system read-only and the workspace read-write, but its
 * `.git` read-only (history, hooks and config are DevSys's: an agent cannot plant a hook that
 * DevSys's own `git commit` would run); HOME and TMPDIR are /tmp, in memory; it runs as the
 * sandbox user, who owns the work tree for the run (so git inside works); its network is the
 * server's SANDBOX_AGENT_NETWORK (host by default: agents call a model).
 */
export async function runAgent(opts: RunAgentOptions): Promise<AgentRun> {
  opts.signal.throwIfAborted()
  let argv = opts.argv
  let env = opts.env
  const owner = handBack()
  if (opts.sandbox.enabled) {
    const probe = await probeSandbox(opts.sandbox)
    if (!probe.ok) throw new GenerateError('not-configured', probe.message)
    await findProgram(opts.argv[0] ?? '', opts.sandbox, opts.cwd)
    env = { ...opts.env, PATH: SANDBOX_PATH, HOME: '/tmp', TMPDIR: '/tmp', ...opts.sandboxEnv }
    argv = sandboxArgv(opts.sandbox, {
      argv: opts.argv,
      cwd: opts.cwd,
      env,
      mounts: [
        { host: opts.cwd, writable: true },
        { host: join(opts.cwd, '.git') },
        ...(opts.mounts ?? []),
      ],
      network: opts.network ?? opts.sandbox.agentNetwork,
    })
    if (owner !== undefined) {
      await handOver(opts.cwd, { uid: opts.sandbox.uid, gid: opts.sandbox.gid })
    }
  }
  try {
    const run = await runProcess({
      argv,
      cwd: opts.cwd,
      env,
      timeoutMs: opts.timeoutMs,
      killGraceMs: opts.killGraceMs,
      maxOutputBytes: opts.tailBytes,
      signal: opts.signal,
      sandboxed: opts.sandbox.enabled,
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
  } finally {
    if (opts.sandbox.enabled && owner !== undefined) await handOver(opts.cwd, owner)
  }
}

/** DevSys's own user and group when it runs as root (and so hands the work tree over). */
function handBack(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  return { uid: 0, gid: process.getgid?.() ?? 0 }
}

/**
 * The agent must be a program the sandbox can see: on its PATH (system folders), in
 * SANDBOX_READONLY_PATHS, or in the workspace. Otherwise it fails like a missing program
 * (ENOENT), which the generator reports as a configuration problem.
 */
async function findProgram(name: string, sandbox: SandboxSettings, workspace: string) {
  const candidates = name.includes('/')
    ? [isAbsolute(name) ? name : join(workspace, name)]
    : SANDBOX_PATH.split(delimiter).map((dir) => join(dir, name))
  const visible = ['/usr/', '/bin/', '/sbin/', `${workspace}/`].concat(
    sandbox.readOnlyPaths.map((path) => `${path.replace(/\/+$/, '')}/`),
  )
  for (const path of candidates) {
    if (!visible.some((root) => path.startsWith(root))) continue
    if (
      await access(path, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return
  }
  throw Object.assign(new Error(`${name} is not a program the sandbox can run`), {
    code: 'ENOENT',
  })
}
