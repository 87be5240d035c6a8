/**
 * How task code is confined on the DevSys host: test commands of the local runner, the
 * generator command, and the `php -S` that serves local deploys. Server settings only: a
 * repository can never loosen them (see runner/README.md, "Sandbox").
 */
export interface SandboxSettings {
  /**
   * false only when the server sets DEVSYS_UNSAFE_NO_SANDBOX=true: task code then runs as
   * DevSys's own user, with a warning at start. Nothing a repository says can make it false.
   */
  enabled: boolean
  /** Network of test runs: `loopback` (a namespace of their own, the default) or `host`. */
  network: 'loopback' | 'host'
  /** Network of the generator command: `host` by default, since a coding agent calls a model. */
  agentNetwork: 'loopback' | 'host'
  /** The unprivileged user and group task code runs as when DevSys runs as root. */
  uid: number
  gid: number
  limits: SandboxLimits
  /** Host folders task code may read besides the system's (an agent installed elsewhere). */
  readOnlyPaths: string[]
}

export interface SandboxLimits {
  /** Address space of each process (RLIMIT_AS). */
  memoryBytes: number
  /** Processes and threads of the sandbox user (RLIMIT_NPROC). */
  processes: number
  /** Size of each writable scratch folder (tmpfs), and of any one file (RLIMIT_FSIZE). */
  diskBytes: number
  /** Open files per process (RLIMIT_NOFILE). */
  openFiles: number
}

export type CheckSandboxEnvResult =
  | { ok: true; settings: SandboxSettings }
  | { ok: false; errors: string[] }

const MIB = 1024 * 1024
export const DEFAULT_SANDBOX: SandboxSettings = {
  enabled: true,
  network: 'loopback',
  agentNetwork: 'host',
  uid: 65_534,
  gid: 65_534,
  limits: { memoryBytes: 4096 * MIB, processes: 512, diskBytes: 1024 * MIB, openFiles: 4096 },
  readOnlyPaths: [],
}

/** Reads the SANDBOX_* settings and DEVSYS_UNSAFE_NO_SANDBOX (empty values count as unset). */
export function checkSandboxEnv(
  env: Readonly<Record<string, string | undefined>>,
): CheckSandboxEnvResult {
  const errors: string[] = []
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name])
  const unsafe = get('DEVSYS_UNSAFE_NO_SANDBOX') ?? 'false'
  if (!['true', 'false'].includes(unsafe)) {
    errors.push(
      'DEVSYS_UNSAFE_NO_SANDBOX: use true (task code runs unconfined, as DevSys) or false',
    )
  }
  const network = get('SANDBOX_NETWORK') ?? DEFAULT_SANDBOX.network
  if (network !== 'loopback' && network !== 'host') {
    errors.push('SANDBOX_NETWORK: use loopback (default: no network but its own) or host')
  }
  const agentNetwork = get('SANDBOX_AGENT_NETWORK') ?? DEFAULT_SANDBOX.agentNetwork
  if (agentNetwork !== 'loopback' && agentNetwork !== 'host') {
    errors.push(
      'SANDBOX_AGENT_NETWORK: use host (default: the agent can call its model) or loopback',
    )
  }
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const text = get(name)
    if (text === undefined) return fallback
    const value = Number(text)
    if (!Number.isInteger(value) || value < min || value > max) {
      errors.push(`${name}: use a whole number from ${min} to ${max}`)
      return fallback
    }
    return value
  }
  const uid = integer('SANDBOX_UID', DEFAULT_SANDBOX.uid, 1, 4_294_967_294)
  const gid = integer('SANDBOX_GID', DEFAULT_SANDBOX.gid, 1, 4_294_967_294)
  const limits = DEFAULT_SANDBOX.limits
  const memoryMb = integer('SANDBOX_MEMORY_MB', limits.memoryBytes / MIB, 64, 1_048_576)
  const processes = integer('SANDBOX_MAX_PROCESSES', limits.processes, 16, 1_000_000)
  const diskMb = integer('SANDBOX_DISK_MB', limits.diskBytes / MIB, 1, 1_048_576)
  const readOnlyPaths = (get('SANDBOX_READONLY_PATHS') ?? '')
    .split(':')
    .filter((path) => path !== '')
  for (const path of readOnlyPaths) {
    if (!path.startsWith('/')) {
      errors.push(`SANDBOX_READONLY_PATHS: ${JSON.stringify(path)} must be an absolute path`)
    }
  }
  if (errors.length > 0) return { ok: false, errors }
  return {
    ok: true,
    settings: {
      enabled: unsafe !== 'true',
      network: network as SandboxSettings['network'],
      agentNetwork: agentNetwork as SandboxSettings['agentNetwork'],
      uid,
      gid,
      limits: {
        memoryBytes: memoryMb * MIB,
        processes,
        diskBytes: diskMb * MIB,
        openFiles: limits.openFiles,
      },
      readOnlyPaths,
    },
  }
}
