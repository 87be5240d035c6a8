import { access } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { createRunner, type RunnerConfig } from '../../runner/create-runner.js'
import { type Runner, RunnerError, type RunnerKind } from '../../runner/types.js'
import { type Sshd, startSshd } from '../../test/helpers/services.js'
import { runDirect } from './direct.js'
import type { RunOutcome, Workload } from './workloads.js'

/**
 * `local` is the local runner as DevSys runs it, in the bubblewrap sandbox; `local-unconfined`
 * is the same runner with the sandbox off (what DEVSYS_UNSAFE_NO_SANDBOX=true gives), so one
 * run shows what the sandbox costs.
 */
export type VariantName = 'direct' | RunnerKind | 'local-unconfined'
export const VARIANT_NAMES: readonly VariantName[] = [
  'direct',
  'local',
  'local-unconfined',
  'docker',
  'remote-ssh',
]

/** One timed run: the wall time, what it left, and the runner's own `durationMs` if any. */
export interface Measured extends RunOutcome {
  ms: number
  runnerMs?: number
}

export interface Variant {
  name: VariantName
  run(workload: Workload): Promise<Measured>
}

const TIMEOUT_MS = 120_000

/** The command run as a child process in a fresh copy of the work tree (only the command timed). */
export function directVariant(workspace: string, scratch: string): Variant {
  return {
    name: 'direct',
    async run(workload) {
      return runDirect({
        workspace,
        scratch,
        command: workload.command,
        junitPath: workload.junitPath,
        timeoutMs: TIMEOUT_MS,
      })
    },
  }
}

/** A DevSys runner, timed from `run()` being called to its result (copy in, run, report out). */
export function runnerVariant(
  name: VariantName,
  runner: Runner,
  workspace: string,
  log: Logger,
): Variant {
  return {
    name,
    async run(workload) {
      const started = performance.now()
      const result = await runner.run({
        workspace,
        command: workload.command,
        junitPath: workload.junitPath,
        timeoutMs: TIMEOUT_MS,
        maxOutputBytes: 64 * 1024,
        maxReportBytes: 1024 * 1024,
        signal: AbortSignal.timeout(TIMEOUT_MS + 30_000),
        log,
      })
      return {
        ms: performance.now() - started,
        runnerMs: result.durationMs,
        exitCode: result.exitCode,
        timedOut: result.timedOut,
        report: result.report,
        stderrTail: result.stderr.text.slice(-4096),
      }
    },
  }
}

export type Prepared =
  | { name: VariantName; variant: Variant; unavailable?: undefined }
  | { name: VariantName; variant?: undefined; unavailable: string }

/**
 * Makes the runner of `name` through createRunner, starting a real sshd on loopback for
 * remote-ssh. `local` always has the sandbox on and `local-unconfined` always off, whatever
 * DEVSYS_UNSAFE_NO_SANDBOX says (the other SANDBOX_* settings apply to both). Each runner is
 * probed with one run of `probe`: a RunnerError there (no bubblewrap, no engine, no image, sshd
 * refusing) makes the variant "not available", with the runner's message.
 */
export async function prepareVariant(opts: {
  name: Exclude<VariantName, 'direct'>
  config: RunnerConfig
  workspace: string
  sshdDir: string
  probe: Workload
  log: Logger
  onSshd: (sshd: Sshd) => void
}): Promise<Prepared> {
  const { name, log } = opts
  let config = opts.config
  if (name === 'remote-ssh') {
    const sshd = await startSshdIfInstalled(opts.sshdDir)
    if (typeof sshd === 'string') return { name, unavailable: sshd }
    opts.onSshd(sshd)
    config = {
      ...config,
      ssh: {
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        privateKeyPath: sshd.privateKeyPath,
        knownHostsPath: sshd.knownHostsPath,
        allowInsecure: false,
      },
    }
  }
  if (name === 'local' || name === 'local-unconfined') {
    config = { ...config, sandbox: { ...config.sandbox, enabled: name === 'local' } }
  }
  try {
    const runner = await createRunner(name === 'local-unconfined' ? 'local' : name, config, log)
    const variant = runnerVariant(name, runner, opts.workspace, log)
    await variant.run(opts.probe)
    return { name, variant }
  } catch (error) {
    if (error instanceof RunnerError) return { name, unavailable: error.message }
    throw error
  }
}

const SSHD = '/usr/sbin/sshd'

/** The started sshd, or why it could not start. */
async function startSshdIfInstalled(dir: string): Promise<Sshd | string> {
  try {
    await access(SSHD)
  } catch {
    return `${SSHD} is not installed (apt-get install openssh-server)`
  }
  try {
    return await startSshd(path.resolve(dir))
  } catch (error) {
    return `sshd did not start on loopback: ${error instanceof Error ? error.message : String(error)}`
  }
}
