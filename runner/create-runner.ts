import Dockerode from 'dockerode'
import type { Logger } from 'pino'
import { createDockerRunner } from './docker/create-docker-runner.js'
import { pingEngine } from './docker/docker-errors.js'
import { createLocalRunner } from './local/create-local-runner.js'
import {
  checkSandboxEnv,
  DEFAULT_SANDBOX,
  type SandboxSettings,
} from './sandbox/sandbox-settings.js'
import { createSshRunner } from './ssh/create-ssh-runner.js'
import { type Runner, RunnerError } from './types.js'

export type RunnerChoice = 'local' | 'docker' | 'remote-ssh' | 'auto'

/** Where tests run, from DevSys's environment (see runner/README.md for the variables). */
export interface RunnerConfig {
  /** TEST_RUNNER: when set, it overrides the repo config's `runner`; unset, the repo decides. */
  kind?: RunnerChoice
  docker: {
    /** DOCKER_RUNNER_IMAGE; default devsys/php-runner:latest. */
    image: string
    /** DOCKER_HOST as unix:///path or tcp://host:port; default /var/run/docker.sock. */
    host?: string
  }
  /** SANDBOX_* and DEVSYS_UNSAFE_NO_SANDBOX: how task code is confined on this host. */
  sandbox: SandboxSettings
  /** Present when REMOTE_SSH_HOST is set. */
  ssh?: {
    host: string
    port: number
    username: string
    privateKeyPath: string
    knownHostsPath?: string
    allowInsecure: boolean
  }
}

export type CheckRunnerEnvResult =
  | { ok: true; config: RunnerConfig }
  | { ok: false; errors: string[] }

export const DEFAULT_RUNNER_IMAGE = 'devsys/php-runner:latest'
/** How long `auto` waits for the Docker engine to answer. */
const AUTO_PING_MS = 1500
const CHOICES: readonly RunnerChoice[] = ['local', 'docker', 'remote-ssh', 'auto']

/**
 * Reads the runner settings from the environment (empty values count as unset). Throws one
 * Error listing every bad variable, so DevSys stops at startup rather than at the first run.
 */
export function readRunnerConfig(env: Readonly<Record<string, string | undefined>>): RunnerConfig {
  const checked = checkRunnerEnv(env)
  if (!checked.ok) throw new Error(`Invalid runner settings:\n${checked.errors.join('\n')}`)
  return checked.config
}

/** Like readRunnerConfig, returning the problems instead of throwing. */
export function checkRunnerEnv(
  env: Readonly<Record<string, string | undefined>>,
): CheckRunnerEnvResult {
  const errors: string[] = []
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name])
  const kind = get('TEST_RUNNER')
  if (kind !== undefined && !CHOICES.includes(kind as RunnerChoice)) {
    errors.push(
      `TEST_RUNNER: ${JSON.stringify(kind)} is not a runner; use one of ${CHOICES.join(', ')}`,
    )
  }
  const dockerHost = get('DOCKER_HOST')
  if (dockerHost !== undefined && dockerOptions(dockerHost) === undefined) {
    errors.push(
      `DOCKER_HOST: ${JSON.stringify(dockerHost)} is not supported; use unix:///path/to/docker.sock or tcp://host:port`,
    )
  }
  const insecure = get('REMOTE_ALLOW_INSECURE_SSH') ?? 'false'
  if (!['true', 'false', '1', '0'].includes(insecure)) {
    errors.push('REMOTE_ALLOW_INSECURE_SSH: use true or false')
  }
  const sandbox = checkSandboxEnv(env)
  if (!sandbox.ok) errors.push(...sandbox.errors)
  const config: RunnerConfig = {
    ...(kind === undefined ? {} : { kind: kind as RunnerChoice }),
    sandbox: sandbox.ok ? sandbox.settings : DEFAULT_SANDBOX,
    docker: {
      image: get('DOCKER_RUNNER_IMAGE') ?? DEFAULT_RUNNER_IMAGE,
      ...(dockerHost === undefined ? {} : { host: dockerHost }),
    },
  }
  const host = get('REMOTE_SSH_HOST')
  if (host !== undefined) {
    const port = Number(get('REMOTE_SSH_PORT') ?? '22')
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      errors.push('REMOTE_SSH_PORT: use a port number from 1 to 65535')
    }
    const username = get('REMOTE_SSH_USER')
    const privateKeyPath = get('REMOTE_SSH_KEY_PATH')
    if (username === undefined)
      errors.push('REMOTE_SSH_USER: set it to the user DevSys logs in as on REMOTE_SSH_HOST')
    if (privateKeyPath === undefined)
      errors.push('REMOTE_SSH_KEY_PATH: set it to the private key file of that user')
    const knownHostsPath = get('REMOTE_SSH_KNOWN_HOSTS')
    config.ssh = {
      host,
      port,
      username: username ?? '',
      privateKeyPath: privateKeyPath ?? '',
      ...(knownHostsPath === undefined ? {} : { knownHostsPath }),
      allowInsecure: insecure === 'true' || insecure === '1',
    }
  } else if (config.kind === 'remote-ssh') {
    errors.push(
      'TEST_RUNNER: remote-ssh needs REMOTE_SSH_HOST, REMOTE_SSH_USER, REMOTE_SSH_KEY_PATH and REMOTE_SSH_KNOWN_HOSTS',
    )
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config }
}

/**
 * Makes the runner of the given kind. `auto` picks remote-ssh when it is configured, else
 * docker when the engine answers a ping within 1.5 s, else local, which is sandboxed (it runs
 * unconfined only when the server says DEVSYS_UNSAFE_NO_SANDBOX=true, never by a repository's
 * choice); the choice is logged.
 */
export async function createRunner(
  kind: RunnerChoice,
  config: RunnerConfig,
  log: Logger,
): Promise<Runner> {
  if (kind === 'remote-ssh' || (kind === 'auto' && config.ssh !== undefined)) {
    if (config.ssh === undefined) {
      throw new RunnerError(
        'unavailable',
        'remote-ssh',
        'The remote-ssh runner was chosen but is not configured: set REMOTE_SSH_HOST, REMOTE_SSH_USER, REMOTE_SSH_KEY_PATH and REMOTE_SSH_KNOWN_HOSTS, or choose another runner.',
      )
    }
    if (kind === 'auto')
      log.info(
        { runner: 'remote-ssh', host: config.ssh.host },
        'auto runner: REMOTE_SSH_HOST is set',
      )
    return createSshRunner({ ...config.ssh, log })
  }
  if (kind === 'local') return createLocalRunner({ sandbox: config.sandbox })
  const docker = new Dockerode(dockerOptions(config.docker.host ?? 'unix:///var/run/docker.sock'))
  if (kind === 'auto') {
    if (!(await pingEngine(docker, AUTO_PING_MS))) {
      log.info(
        { runner: 'local' },
        'auto runner: no Docker engine answered, tests run in the local sandbox',
      )
      return createLocalRunner({ sandbox: config.sandbox })
    }
    log.info(
      { runner: 'docker', image: config.docker.image },
      'auto runner: the Docker engine answered',
    )
  }
  return createDockerRunner({ image: config.docker.image, docker })
}

/** dockerode connection options for a DOCKER_HOST value; undefined when not supported. */
function dockerOptions(host: string): Dockerode.DockerOptions | undefined {
  if (host.startsWith('unix://'))
    return { socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' }
  const match = /^tcp:\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(host)
  if (match?.[1] === undefined || match[2] === undefined) return undefined
  return { protocol: 'http', host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]) }
}
