import { execFile } from 'node:child_process'
import { readlink } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Logger } from 'pino'
import type { SshPool } from '../../src/deploy/targets/ssh-pool.js'
import { createSshTarget } from '../../src/deploy/targets/ssh-target.js'
import type { DeployTarget, UploadResult } from '../../src/deploy/types.js'
import type { Sshd } from '../../test/helpers/services.js'
import type { Site } from './site.js'

const run = promisify(execFile)
const TIMEOUT_MS = 300_000

/** One timed deploy: wall time, and what the deployer says it sent. */
export interface Timed {
  ms: number
  /** Files sent over the wire (DevSys: its upload result; rsync: `--stats`). */
  sent: number
  /** Bytes of file content sent (DevSys: tar bytes; rsync: "Total bytes sent"). */
  bytes: number
}

/**
 * The ssh target DevSys makes for a deploy folder on the loopback sshd: on `pool`, the kept
 * connections a DevSys process has (its target factory's pool), or without one on a new
 * connection that close() ends.
 */
export function sshTarget(sshd: Sshd, root: string, log: Logger, pool?: SshPool): DeployTarget {
  return createSshTarget({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKeyPath: sshd.privateKeyPath,
    knownHostsPath: sshd.knownHostsPath,
    root,
    log,
    ...(pool === undefined ? {} : { pool }),
  })
}

/**
 * A deploy as DevSys runs one: a new target on the process's kept connections (`pool`), upload,
 * activate, close. Timed from making the target to `close()` returning.
 */
export async function deployWithDevsys(
  sshd: Sshd,
  root: string,
  site: Site,
  log: Logger,
  pool: SshPool,
): Promise<Timed & { upload: UploadResult }> {
  const started = performance.now()
  const target = sshTarget(sshd, root, log, pool)
  try {
    const upload = await target.upload(
      { id: site.id, dir: site.dir },
      { signal: AbortSignal.timeout(TIMEOUT_MS), log },
    )
    await target.activate(site.id)
    await target.close()
    return { ms: performance.now() - started, sent: upload.sent, bytes: upload.bytesSent, upload }
  } finally {
    await target.close()
  }
}

/**
 * Flushes the disk's dirty pages (`sync`), untimed, before a measurement: the kernel writes a
 * deploy's 10–100 MB back in the background, and the next measurement would pay for it.
 */
export async function settleDisk(): Promise<void> {
  await run('sync', [], { timeout: TIMEOUT_MS })
}

/** `current` of a deploy folder, read on the (loopback) host: the release id it points at. */
export async function liveRelease(root: string): Promise<string> {
  return path.basename(await readlink(path.join(root, 'current')))
}

/** The `-e` command rsync runs: OpenSSH with the bench's key and known_hosts, nothing else. */
function sshCommand(sshd: Sshd): string {
  const opts = [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    sshd.privateKeyPath,
    '-p',
    String(sshd.port),
    '-o',
    `UserKnownHostsFile=${sshd.knownHostsPath}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
  ]
  // rsync splits -e on spaces itself; the bench's temporary paths have none.
  if (opts.some((o) => /\s/.test(o))) throw new Error(`a path has a space: ${opts.join(' ')}`)
  return opts.join(' ')
}

/**
 * `rsync -a --delete` of the site's folder to `dest` on the loopback sshd, one argv, no shell.
 * `--stats` only adds counters to its output (read for the files and bytes sent).
 */
export async function deployWithRsync(sshd: Sshd, site: Site, dest: string): Promise<Timed> {
  const argv = [
    '-a',
    '--delete',
    '--stats',
    '-e',
    sshCommand(sshd),
    `${site.dir}/`,
    `${sshd.username}@${sshd.host}:${dest}/`,
  ]
  const started = performance.now()
  const { stdout } = await run('rsync', argv, { timeout: TIMEOUT_MS, maxBuffer: 1 << 20 })
  const ms = performance.now() - started
  const number = (label: string): number => {
    const match = new RegExp(`^${label}: ([\\d,]+)`, 'm').exec(stdout)
    return match?.[1] === undefined ? Number.NaN : Number(match[1].replaceAll(',', ''))
  }
  // "Number of regular files transferred: 2,000" (rsync 3.1+), "Total bytes sent: 10,923,411".
  return {
    ms,
    sent: number('Number of regular files transferred'),
    bytes: number('Total bytes sent'),
  }
}

/** rsync's version line, or why rsync cannot run (with how to install it). */
export async function rsyncVersion(): Promise<
  { ok: true; version: string } | { ok: false; problem: string }
> {
  try {
    const { stdout } = await run('rsync', ['--version'], { timeout: 10_000 })
    return { ok: true, version: stdout.split('\n')[0]?.trim() ?? 'rsync' }
  } catch (error) {
    const code = (error as { code?: string }).code
    return {
      ok: false,
      problem:
        code === 'ENOENT'
          ? 'rsync is not installed: the deploy benchmark compares DevSys with rsync over the same sshd; install it (apt-get install -y rsync) and run again'
          : `rsync --version failed: ${(error as Error).message}`,
    }
  }
}
