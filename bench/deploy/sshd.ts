import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { Socket } from 'node:net'
import { userInfo } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort, type Sshd } from '../../test/helpers/services.js'

const run = promisify(execFile)
const SSHD = '/usr/sbin/sshd'

/**
 * Starts OpenSSH's sshd on loopback as `startSshd()` in test/helpers/services.ts does (no
 * system config, key login only, its own host key, client key and known_hosts in `dir`), with
 * one difference unless `shellRc`: sessions get SHLVL=1, so the login shell (Debian's bash)
 * does not source ~/.bashrc for each command. A deploy host's account usually has a short rc;
 * a developer's (pyenv, nvm) can add 100–200 ms to every exec channel, on both sides of the
 * comparison, and would measure the machine rather than the deployers.
 */
export async function startBenchSshd(dir: string, opts: { shellRc: boolean }): Promise<Sshd> {
  await mkdir('/run/sshd', { recursive: true })
  const hostKey = path.join(dir, 'host_key')
  const clientKey = path.join(dir, 'client_key')
  for (const key of [hostKey, clientKey]) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'devsys-bench', '-f', key])
  }
  const authorizedKeys = path.join(dir, 'authorized_keys')
  await writeFile(authorizedKeys, await readFile(`${clientKey}.pub`))
  const port = await freePort()
  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ')
  const knownHostsPath = path.join(dir, 'known_hosts')
  await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostPublicKey}\n`)
  const options = [
    'ListenAddress=127.0.0.1',
    `AuthorizedKeysFile=${authorizedKeys}`,
    'StrictModes=no',
    'PasswordAuthentication=no',
    'KbdInteractiveAuthentication=no',
    'PermitRootLogin=prohibit-password',
    'UsePAM=no',
    `PidFile=${path.join(dir, 'sshd.pid')}`,
    'Subsystem=sftp internal-sftp',
    ...(opts.shellRc ? [] : ['SetEnv=SHLVL=1']),
  ]
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
      ...options.flatMap((o) => ['-o', o]),
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
    stop: () => stop(child),
  }
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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
