import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import { Client, type ServerHostKeyAlgorithm } from 'ssh2'
import { RunnerError } from '../types.js'
import { findKnownKeys, hostKeyAlgorithms, type KnownKey, keyBlobType } from './known-hosts.js'

/** Who logs in where, as the ssh runner and the ssh deploy target are configured. */
export interface SshLogin {
  host: string
  /** Default 22. */
  port?: number
  username: string
  /** The private key file; read when connecting, never logged. */
  privateKeyPath: string
  /** OpenSSH known_hosts with the host's key. */
  knownHostsPath?: string
  /** Connect without a known host key (never in production); logs a warning. */
  allowInsecure?: boolean
}

export interface SshTarget {
  host: string
  port: number
  username: string
  privateKeyPath: string
  knownHostsPath?: string
  /** Connect to a host whose key cannot be checked (no known_hosts entry). */
  allowInsecure: boolean
  /** How long the connection and handshake may take. */
  readyTimeoutMs: number
  /**
   * Send an SSH keepalive after this long without traffic, and drop the connection after 3
   * unanswered ones (connections kept open between deploys). Default: none.
   */
  keepaliveMs?: number
  /** Where the caller's settings come from, so that errors name what to change. */
  settings: SshSettingNames
  log: Logger
}

/**
 * The names of the settings behind a connection, as its errors tell people to fix them: the
 * runner's REMOTE_SSH_* variables, or the deploy target's server variables and repo config.
 */
export interface SshSettingNames {
  /** What the host is to DevSys, e.g. 'SSH runner host'. */
  host: string
  /** Where the address comes from, e.g. 'REMOTE_SSH_HOST / REMOTE_SSH_PORT'. */
  address: string
  user: string
  keyPath: string
  knownHosts: string
  /** The setting that allows an unchecked host key; absent where there is none. */
  allowInsecure?: string
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
])

/**
 * Opens an SSH connection authenticated with the key file, after checking the host's key
 * against known_hosts. Without a known key for the host it refuses to connect, unless
 * `allowInsecure`, which logs a warning; a key that differs from the known one is always
 * refused. Failures are RunnerErrors that say what to do, naming the caller's settings.
 */
export async function connectSsh(target: SshTarget): Promise<Client> {
  const name = target.port === 22 ? target.host : `[${target.host}]:${target.port}`
  const settings = target.settings
  const privateKey = await readFile(target.privateKeyPath).catch((error: { code?: string }) => {
    throw new RunnerError(
      'auth-failed',
      'remote-ssh',
      `Cannot read the SSH private key ${target.privateKeyPath} (${error.code ?? 'error'}): set ${settings.keyPath} to a key file DevSys can read.`,
    )
  })
  const known = await loadKnownKeys(target, name)
  if (known.length === 0) {
    target.log.warn(
      { host: name },
      `INSECURE: connecting over SSH without checking the host key${settings.allowInsecure === undefined ? '' : ` (${settings.allowInsecure})`}; anyone on the network path can impersonate this host. Add the host to ${settings.knownHosts}.`,
    )
  }

  let verdict: 'ok' | 'mismatch' | 'revoked' = 'ok'
  const hostVerifier = (blob: Buffer): boolean => {
    if (known.some((k) => k.revoked && k.key.equals(blob))) verdict = 'revoked'
    else if (known.length === 0 || known.some((k) => !k.revoked && k.key.equals(blob))) return true
    else verdict = 'mismatch'
    target.log.error({ host: name, offered: keyBlobType(blob) }, 'SSH host key refused')
    return false
  }
  const types = [...new Set(known.filter((k) => !k.revoked).map((k) => k.type))]
  const client = new Client()
  return new Promise<Client>((resolve, reject) => {
    client.once('ready', () => {
      // Errors after this (a dropped connection) surface through the pending operations; a
      // listener must stay, or an 'error' event would crash the process.
      client.on('error', (error: Error) =>
        target.log.warn({ err: error, host: name }, 'SSH connection error'),
      )
      resolve(client)
    })
    client.once('error', (error: Error & { level?: string; code?: string }) => {
      client.end()
      if (verdict !== 'ok') {
        reject(
          new RunnerError(
            'host-key-mismatch',
            'remote-ssh',
            `The SSH host key of ${name} ${verdict === 'revoked' ? 'is marked @revoked' : 'does not match the one'} in ${target.knownHostsPath}: the connection may be intercepted, or the host was reinstalled. Nothing was run. If the key really changed, check its fingerprint with the host's admin, then replace the line: ssh-keygen -R '${name}' -f ${target.knownHostsPath} && ssh-keyscan -p ${target.port} ${target.host} >> ${target.knownHostsPath}`,
          ),
        )
      } else if (error.level === 'client-authentication') {
        reject(
          new RunnerError(
            'auth-failed',
            'remote-ssh',
            `${name} refused user ${target.username} with the key ${target.privateKeyPath}: add its public key to ~${target.username}/.ssh/authorized_keys on the host, or fix ${settings.user} / ${settings.keyPath}.`,
          ),
        )
      } else if (error.level === 'client-timeout' || UNREACHABLE.has(error.code ?? '')) {
        reject(unreachable(target, name, error.code ?? 'no answer'))
      } else {
        reject(
          new RunnerError('unavailable', 'remote-ssh', `SSH to ${name} failed: ${error.message}`),
        )
      }
    })
    try {
      client.connect({
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey,
        hostVerifier,
        readyTimeout: target.readyTimeoutMs,
        ...(target.keepaliveMs === undefined
          ? {}
          : { keepaliveInterval: target.keepaliveMs, keepaliveCountMax: 3 }),
        // Ask for the key types known_hosts has, as OpenSSH does, so the host offers one of them.
        ...(types.length === 0
          ? {}
          : {
              algorithms: { serverHostKey: hostKeyAlgorithms(types) as ServerHostKeyAlgorithm[] },
            }),
      })
      // Without TCP_NODELAY each small request (an exec, an SFTP call) waits out the peer's
      // delayed ACK: 40 ms per round trip, and about 170 ms of the handshake.
      client.setNoDelay(true)
    } catch (error) {
      // ssh2 throws here for a key it cannot parse (or one with a passphrase).
      reject(
        new RunnerError(
          'auth-failed',
          'remote-ssh',
          `The SSH private key ${target.privateKeyPath} cannot be used: ${(error as Error).message}. Use an unencrypted OpenSSH or PEM key.`,
        ),
      )
    }
  })
}

/** The keys known_hosts lists for the host; empty only when insecure connections are allowed. */
async function loadKnownKeys(target: SshTarget, name: string): Promise<KnownKey[]> {
  const { knownHosts, allowInsecure } = target.settings
  const insecure =
    allowInsecure === undefined
      ? ''
      : `; only for a throwaway test host, set ${allowInsecure}=true instead`
  const how = `Get the host's key with ssh-keyscan -p ${target.port} ${target.host} > known_hosts (check its fingerprint with the host's admin) and set ${knownHosts} to that file${insecure}.`
  let problem: string
  if (target.knownHostsPath === undefined) {
    problem = `no known_hosts file is configured (${knownHosts})`
  } else {
    const text = await readFile(target.knownHostsPath, 'utf8').catch(() => undefined)
    const keys = text === undefined ? [] : findKnownKeys(text, target.host, target.port)
    if (keys.length > 0) return keys
    problem =
      text === undefined
        ? `the known_hosts file ${target.knownHostsPath} cannot be read`
        : `the known_hosts file ${target.knownHostsPath} has no key for ${name}`
  }
  if (target.allowInsecure) return []
  throw new RunnerError(
    'host-key-unknown',
    'remote-ssh',
    `Refusing to connect to ${name}: ${problem}, so its identity cannot be checked. ${how}`,
  )
}

function unreachable(target: SshTarget, name: string, reason: string): RunnerError {
  return new RunnerError(
    'unavailable',
    'remote-ssh',
    `Cannot reach the ${target.settings.host} ${name} (${reason}): check that the host is up and sshd listens on port ${target.port}, or fix ${target.settings.address}.`,
  )
}
