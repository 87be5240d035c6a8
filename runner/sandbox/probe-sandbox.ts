import { runProcess } from '../local/run-process.js'
import { SANDBOX_PATH, sandboxArgv } from './bwrap.js'
import type { SandboxSettings } from './sandbox-settings.js'

export type SandboxProbe = { ok: true } | { ok: false; message: string }

const probes = new WeakMap<SandboxSettings, Promise<SandboxProbe>>()

/**
 * Whether the sandbox can start on this host (bubblewrap installed, namespaces allowed, the
 * sandbox user usable), tried once per settings object. Callers refuse to run task code when
 * it cannot: there is no quiet fallback to running it unconfined.
 */
export function probeSandbox(settings: SandboxSettings): Promise<SandboxProbe> {
  let probe = probes.get(settings)
  if (probe === undefined) {
    probe = tryOnce(settings)
    probes.set(settings, probe)
  }
  return probe
}

async function tryOnce(settings: SandboxSettings): Promise<SandboxProbe> {
  const argv = sandboxArgv(settings, {
    argv: ['true'],
    cwd: '/',
    env: { PATH: SANDBOX_PATH },
  })
  const run = await runProcess({
    argv,
    cwd: '/',
    env: { PATH: SANDBOX_PATH },
    timeoutMs: 15_000,
    killGraceMs: 1000,
    maxOutputBytes: 4096,
    signal: new AbortController().signal,
    sandboxed: true,
  })
  if (run.exitCode === 0) return { ok: true }
  const why =
    run.startError?.code === 'ENOENT'
      ? 'bubblewrap (bwrap) is not installed'
      : run.timedOut
        ? 'bwrap did not finish within 15 s'
        : `bwrap failed: ${run.stderr.text.trim() || `exit ${String(run.exitCode)}`}`
  return { ok: false, message: sandboxUnavailable(why) }
}

/** The one message for "task code cannot be confined here", with every way out. */
export function sandboxUnavailable(why: string): string {
  return (
    `The sandbox for task code cannot start on the DevSys host (${why}). Install bubblewrap ` +
    '(apt-get install bubblewrap) on a host that allows user or mount namespaces, or use the ' +
    'docker or remote-ssh runner. DevSys never runs task code unconfined unless the server sets ' +
    'DEVSYS_UNSAFE_NO_SANDBOX=true.'
  )
}
