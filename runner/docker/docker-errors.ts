import type Dockerode from 'dockerode'
import { RunnerError } from '../types.js'

/** How long a ping may take before the engine counts as unreachable. */
const PING_TIMEOUT_MS = 5000
/** Errors of the connection to the engine itself (socket missing, refused, closed). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'ABORT_ERR',
])

/**
 * Checks that the engine answers and has the image; returns the user to run as (`user`, else
 * the image's USER). Throws a RunnerError that says what to start or build.
 */
export async function checkEngine(
  docker: Dockerode,
  image: string,
  user: string | undefined,
): Promise<string> {
  try {
    await ping(docker, PING_TIMEOUT_MS)
  } catch (error) {
    throw unreachable(docker, error)
  }
  try {
    const info = (await docker.getImage(image).inspect()) as { Config?: { User?: string } }
    return user ?? info.Config?.User ?? ''
  } catch (error) {
    throw dockerFailure(error, docker, image, 'inspect the test image')
  }
}

/** Whether the engine answers a ping within `timeoutMs` (for `auto` runner selection). */
export async function pingEngine(docker: Dockerode, timeoutMs: number): Promise<boolean> {
  try {
    await ping(docker, timeoutMs)
    return true
  } catch {
    return false
  }
}

/** Pings with a time limit: dockerode takes an abort signal, its typings leave it out. */
function ping(docker: Dockerode, timeoutMs: number): Promise<unknown> {
  const call = docker.ping.bind(docker) as unknown as (opts: {
    abortSignal: AbortSignal
  }) => Promise<unknown>
  return call({ abortSignal: AbortSignal.timeout(timeoutMs) })
}

/** Turns an error of a Docker call into a RunnerError that says what failed and what to do. */
export function dockerFailure(
  error: unknown,
  docker: Dockerode,
  image: string,
  action: string,
): RunnerError {
  if (error instanceof RunnerError) return error
  const { code, statusCode, message } = error as {
    code?: string
    statusCode?: number
    message?: string
  }
  if (code !== undefined && CONNECTION_CODES.has(code)) return unreachable(docker, error)
  if (statusCode === 404 && /image/i.test(message ?? '')) {
    return new RunnerError(
      'unavailable',
      'docker',
      `The Docker image ${image} is not on the Docker engine at ${describeEngine(docker)}. Build it with runner/docker/build-images.sh (no registry is needed), or set DOCKER_RUNNER_IMAGE to an image that has the project's test tools.`,
    )
  }
  return new RunnerError(
    'container-failed',
    'docker',
    `Docker could not ${action} (image ${image}): ${message ?? String(error)}`,
  )
}

/**
 * When the engine refused to start the container because its program cannot be run (not on
 * PATH, no such file, not executable), the exit code and stderr a shell would give: that is the
 * test command failing, for the user to fix, as the local and ssh runners report it (126 when it
 * cannot be executed, 127 when it is not found; `docker run` exits the same way). Null for any
 * other failure, which stays an infrastructure error.
 */
export function refusedCommand(
  error: unknown,
  command: readonly string[],
): { exitCode: 126 | 127; stderr: string } | null {
  const { statusCode, message = '' } = error as { statusCode?: number; message?: string }
  // Only an answer of the engine (not a dropped connection) whose runtime could not exec it.
  if (statusCode === undefined) return null
  const refused = /\bexec: "(?:[^"\\]|\\.)*": (.*?)(?:: unknown)?\s*$/.exec(message)?.[1]
  if (refused === undefined) return null
  const exitCode = /executable file not found|no such file or directory/i.test(refused)
    ? 127
    : /permission denied/i.test(refused)
      ? 126
      : null
  if (exitCode === null) return null
  return {
    exitCode,
    stderr: `cannot start ${JSON.stringify(command[0] ?? '')} in the test container: ${refused}\n`,
  }
}

function unreachable(docker: Dockerode, error: unknown): RunnerError {
  const reason = (error as { code?: string; message?: string }).code ?? String(error)
  return new RunnerError(
    'unavailable',
    'docker',
    `cannot reach the Docker engine at ${describeEngine(docker)} (${reason}): start dockerd or choose another runner (TEST_RUNNER=local or remote-ssh).`,
  )
}

/** Where the engine is, for messages: its socket path or URL. */
export function describeEngine(docker: Dockerode): string {
  // The one unchecked cast of the modem, whose typings leave out its connection settings.
  const modem = docker.modem as unknown as {
    socketPath?: unknown
    host?: unknown
    port?: unknown
    protocol?: unknown
  }
  if (typeof modem.socketPath === 'string') return `unix://${modem.socketPath}`
  if (typeof modem.host === 'string') {
    const port =
      typeof modem.port === 'string' || typeof modem.port === 'number' ? `:${modem.port}` : ''
    return `${typeof modem.protocol === 'string' ? modem.protocol : 'http'}://${modem.host}${port}`
  }
  return 'the default socket (/var/run/docker.sock or DOCKER_HOST)'
}
