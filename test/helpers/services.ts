import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { access, mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Dockerode from 'dockerode'

const run = promisify(execFile)
const SSHD = '/usr/sbin/sshd'

/**
 * Whether tests can use the Docker engine (DOCKER_HOST or /var/run/docker.sock) and it has
 * `image`. In CI (CI=true) a missing engine or image is an error, so no test passes by
 * skipping; elsewhere the caller skips and the reason is printed.
 * Use as `describe.skipIf(!(await requireDocker('runs tests in containers')))(...)`.
 */
export async function requireDocker(
  why: string,
  image = 'devsys/php-runner:latest',
): Promise<boolean> {
  const docker = new Dockerode()
  let problem: string | undefined
  try {
    await Promise.race([docker.ping(), timeout(3000)])
    await docker.getImage(image).inspect()
  } catch (error) {
    problem =
      (error as { statusCode?: number }).statusCode === 404
        ? `the image ${image} is missing (build it with runner/docker/build-images.sh)`
        : `no Docker engine answers (${(error as Error).message}; start dockerd)`
  }
  return available(problem, 'Docker', why)
}

/**
 * Whether Docker Compose v2 (`docker compose`) runs; same CI rule as requireDocker (.ci/run
 * installs it from Debian trixie).
 */
export async function requireCompose(why: string): Promise<boolean> {
  const problem = await run('docker', ['compose', 'version'], { timeout: 10_000 }).then(
    () => undefined,
    (error: Error) =>
      `\`docker compose version\` failed (${error.message.split('\n')[0]}; install docker-compose from Debian trixie)`,
  )
  return available(problem, 'Docker Compose v2', why)
}

/** Whether OpenSSH's sshd and ssh-keygen are installed; same CI rule as requireDocker. */
export async function requireSshd(why: string): Promise<boolean> {
  const problem = await access(SSHD)
    .then(() =>
      run('ssh-keygen', ['-?']).catch((error: { code?: unknown }) => {
        if (error.code === 'ENOENT') throw error
      }),
    )
    .then(() => undefined)
    .catch(() => 'sshd or ssh-keygen is not installed (apt-get install openssh-server)')
  return available(problem, 'sshd', why)
}

function available(problem: string | undefined, what: string, why: string): boolean {
  if (problem === undefined) return true
  if (process.env.CI === 'true') {
    throw new Error(
      `${what} is needed and CI must run every test: ${why}; ${problem}. See .ci/run.`,
    )
  }
  process.stderr.write(`skipping tests that need ${what}: ${why}; ${problem}\n`)
  return false
}

/** A real OpenSSH server on a loopback port, with its own keys, for one test file. */
export interface Sshd {
  host: '127.0.0.1'
  port: number
  /** The user that may log in (the one running the tests). */
  username: string
  /** Client key listed in the server's authorized_keys. */
  privateKeyPath: string
  /** known_hosts with the server's real host key for `[127.0.0.1]:port`. */
  knownHostsPath: string
  /** `ssh-ed25519 AAAA…` of the server. */
  hostPublicKey: string
  stop(): Promise<void>
}

/**
 * Starts sshd as ENVIRONMENT.md describes (no system config, key login only, internal SFTP),
 * with a new host key and client key in `dir`, and waits until it accepts connections.
 */
export async function startSshd(
  dir: string,
  /** More sshd `-o` options, e.g. `SetEnv=SHLVL=1` (bench/deploy: no ~/.bashrc per command). */
  extraOptions: readonly string[] = [],
): Promise<Sshd> {
  await mkdir('/run/sshd', { recursive: true })
  const hostKey = join(dir, 'host_key')
  const clientKey = join(dir, 'client_key')
  for (const key of [hostKey, clientKey]) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'devsys-test', '-f', key])
  }
  const authorizedKeys = join(dir, 'authorized_keys')
  await writeFile(authorizedKeys, await readFile(`${clientKey}.pub`))
  const port = await freePort()
  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ')
  const knownHostsPath = join(dir, 'known_hosts')
  await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostPublicKey}\n`)

  const child = spawn(
    SSHD,
    [
      '-D',
      '-e',
      '-f',
      '/dev/null',
      '-p',
      String(port),
      '-h',
      hostKey,
      '-o',
      'ListenAddress=127.0.0.1',
      '-o',
      `AuthorizedKeysFile=${authorizedKeys}`,
      '-o',
      'StrictModes=no',
      '-o',
      'PasswordAuthentication=no',
      '-o',
      'KbdInteractiveAuthentication=no',
      '-o',
      'PermitRootLogin=prohibit-password',
      '-o',
      'UsePAM=no',
      '-o',
      `PidFile=${join(dir, 'sshd.pid')}`,
      '-o',
      'Subsystem=sftp internal-sftp',
      ...extraOptions.flatMap((option) => ['-o', option]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-4000)
  })
  await waitForPort(port, child, () => log)
  return {
    host: '127.0.0.1',
    port,
    username: userInfo().username,
    privateKeyPath: clientKey,
    knownHostsPath,
    hostPublicKey,
    stop: () => stopProcess(child),
  }
}

/** A loopback port nothing listens on (for "host down" tests and new servers). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log()}`)
    if (await connects(port)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill()
  throw new Error(`sshd did not listen on port ${port} within 10 s: ${log()}`)
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.connect(port, '127.0.0.1')
  })
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  await Promise.race([exited, timeout(5000).catch(() => child.kill('SIGKILL'))])
}

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref(),
  )
}
