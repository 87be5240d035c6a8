import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { SFTPWrapper } from 'ssh2'
import { connectSsh, type SshLogin, type SshSettingNames } from '../../../runner/ssh/connect.js'
import { diffReleases, type ReleaseFiles, sameFile } from '../release-files.js'
import { DeployError, type DeployTarget, type TargetState, type UploadResult } from '../types.js'
import { packRelease } from './pack-release.js'
import {
  checkReleaseId,
  checkSharedPaths,
  isReleaseId,
  listDeployFiles,
  liveWithoutMarker,
  parseReleaseMarker,
  parseStateOutput,
  RELEASE_MARKER,
  type ReleaseMarker,
  releasesToPrune,
  type TargetLayout,
} from './release-plan.js'
import { SEPARATOR, uploadCommand } from './ssh-commands.js'
import { type ExecResult, execRemote } from './ssh-exec.js'
import { type HelperRequest, type HelperResult, type SshHelper, startHelper } from './ssh-helper.js'
import { createSshPool, type PooledConnection, type SshLease, type SshPool } from './ssh-pool.js'
import { readlinkOrNull, readTextOrNull, replaceLink, statOrNull } from './ssh-sftp.js'

/** The environment's ssh settings and EXTERNAL_DEPLOY_SSH_KEY_PATH / _KNOWN_HOSTS, plus: */
export interface SshTargetOptions extends SshLogin {
  /** The deploy folder on the host (holds releases/, shared/ and current). */
  root: string
  /** Folders (relative to a release) kept in `root/shared/` across releases. */
  shared?: string[]
  url?: string
  /** Run `docker compose up -d --build` in each new release (EXTERNAL_DEPLOY_RUN_COMPOSE). */
  runCompose?: boolean
  /**
   * Where connections are kept between targets (DevSys's target factory has one per process).
   * Without one, the target has its own, and close() ends its connection.
   */
  pool?: SshPool
  log: Logger
}

/** The settings behind an ssh deploy, as connection errors name them. */
const SETTINGS: SshSettingNames = {
  host: 'deploy host',
  address: "the environment's ssh.host / ssh.port in .github/devsys.yml",
  user: "the environment's ssh.user in .github/devsys.yml",
  keyPath: 'EXTERNAL_DEPLOY_SSH_KEY_PATH',
  knownHosts: 'EXTERNAL_DEPLOY_KNOWN_HOSTS',
}

/** Markers and state listings kept (2,000 files make a marker of about 150 KB). */
const MARKER_OUTPUT = 64 * 1024 * 1024
/** Keepalive on kept connections: a dead host is noticed within 3 of these. */
const KEEPALIVE_MS = 15_000
/** Where a connection keeps its helper (see ssh-helper.ts). */
const HELPER = 'devsys-deploy-helper'

/**
 * A deploy target on a host reached over SSH (host key checked against known_hosts), on a
 * connection kept per host (ssh-pool.ts). Switches, the live marker and the completeness check
 * are SFTP calls; an upload is one exec channel, sending only files whose hash differs from the
 * live release's marker as one tar and hard-linking the rest on the host; listing and removing
 * releases go through one long-lived shell per connection (ssh-helper.ts).
 */
export function createSshTarget(opts: SshTargetOptions): DeployTarget {
  const root = opts.root.replace(/\/+$/, '') || '/'
  const shared = checkSharedPaths(opts.shared ?? [])
  const where = `${opts.username}@${opts.host}:${root}`
  const pool = opts.pool ?? createSshPool()
  const key = JSON.stringify([
    opts.host,
    opts.port ?? 22,
    opts.username,
    opts.privateKeyPath,
    opts.knownHostsPath ?? null,
    opts.allowInsecure ?? false,
  ])
  let lease: SshLease | undefined

  /** The target's connection: leased on first use, kept until close(), replaced if it dropped. */
  const connection = async (): Promise<PooledConnection> => {
    if (lease !== undefined && !lease.connection.closed) return lease.connection
    lease?.release()
    lease = undefined
    try {
      lease = await pool.lease(key, () =>
        connectSsh({
          host: opts.host,
          port: opts.port ?? 22,
          username: opts.username,
          privateKeyPath: opts.privateKeyPath,
          ...(opts.knownHostsPath === undefined ? {} : { knownHostsPath: opts.knownHostsPath }),
          allowInsecure: opts.allowInsecure ?? false,
          readyTimeoutMs: 10_000,
          keepaliveMs: KEEPALIVE_MS,
          settings: SETTINGS,
          log: opts.log,
        }),
      )
      return lease.connection
    } catch (error) {
      throw new DeployError(
        'unavailable',
        'ssh',
        `Cannot deploy to ${where}: ${(error as Error).message}`,
      )
    }
  }

  /** A connection or channel failure as a DeployError of `code` (a cancel as 'aborted'). */
  const lost = (error: unknown, code: 'unavailable' | 'upload-failed', signal?: AbortSignal) => {
    if (signal?.aborted)
      return new DeployError('aborted', 'ssh', `The deploy to ${where} was cancelled.`)
    if (error instanceof DeployError) return error
    return new DeployError(
      code,
      'ssh',
      `The SSH connection to ${where} failed: ${(error as Error).message}`,
    )
  }

  /**
   * Runs `fn` on a connection; when the connection turns out to have dropped (a kept one the
   * host closed since), once more on a new one. Every `fn` here can be repeated safely.
   */
  const onConnection = async <T>(fn: (conn: PooledConnection) => Promise<T>): Promise<T> => {
    const conn = await connection()
    try {
      return await fn(conn)
    } catch (error) {
      if (!conn.closed || error instanceof DeployError) throw error
      return fn(await connection())
    }
  }

  /** Runs `fn` on the connection's SFTP session; its failures become DeployErrors of `code`. */
  const sftp = async <T>(
    fn: (session: SFTPWrapper) => Promise<T>,
    code: 'unavailable' | 'upload-failed' | 'switch-failed',
    what: string,
  ): Promise<T> => {
    try {
      return await onConnection(async (conn) => fn(await conn.sftp()))
    } catch (error) {
      if (error instanceof DeployError) throw error
      if (lease?.connection.closed !== false)
        throw lost(error, code === 'upload-failed' ? code : 'unavailable')
      throw new DeployError(
        code,
        'ssh',
        `Could not ${what} on ${where}: ${(error as Error).message}`,
      )
    }
  }

  /** One request to the connection's helper, started on first use. */
  const helper = async (request: HelperRequest, signal?: AbortSignal): Promise<HelperResult> => {
    try {
      return await onConnection(async (conn) => {
        let started = conn.extras.get(HELPER) as Promise<SshHelper> | undefined
        if (started === undefined || (await started.catch(() => undefined))?.closed !== false) {
          started = startHelper(conn.client)
          conn.extras.set(HELPER, started)
        }
        return (await started).run(request, signal)
      })
    } catch (error) {
      throw lost(error, 'unavailable', signal)
    }
  }

  /** Runs the upload's command; a connection or channel failure becomes a DeployError. */
  const exec = async (
    command: string,
    extra: Parameters<typeof execRemote>[2] = {},
  ): Promise<ExecResult> => {
    const { client } = await connection()
    try {
      const result = await execRemote(client, command, extra)
      if (result.code === null) {
        throw new Error(
          result.stderr.trim() || 'the channel closed without an exit status (connection lost)',
        )
      }
      return result
    } catch (error) {
      throw lost(error, 'upload-failed', extra.signal)
    }
  }

  /** Throws for a command that ran and failed, with the first lines of its stderr. */
  const check = (
    result: { code: number | null; stderr: string },
    code: 'upload-failed' | 'unavailable',
    what: string,
  ): void => {
    if (result.code === 0) return
    const stderr = result.stderr.trim().split('\n').slice(0, 5).join('; ')
    const full = /No space left|Disk quota exceeded/i.test(result.stderr)
    throw new DeployError(
      full ? 'no-space' : code,
      'ssh',
      full
        ? `The host ${opts.host} ran out of disk space while ${what} in ${root}: free space there (or prune releases) and deploy again; the live site is unchanged.`
        : `Could not ${what} on ${where} (exit ${result.code}): ${stderr}`,
    )
  }

  const layout = async (signal?: AbortSignal): Promise<TargetLayout> => {
    const result = await helper({ verb: 'state', args: [root] }, signal)
    check(result, 'unavailable', 'list the releases')
    return parseStateOutput(result.stdout, SEPARATOR)
  }
  const state = async (signal?: AbortSignal): Promise<TargetState> => {
    const { current, releases } = await layout(signal)
    return { current, releases }
  }
  /** The live release's marker, when `current` points at a release that has its own. */
  const liveMarker = (session: SFTPWrapper, link: string | null) =>
    readTextOrNull(session, `${root}/current/${RELEASE_MARKER}`, MARKER_OUTPUT).then((text) => {
      const linked = /^releases\/([0-9a-f]+)$/.exec(link ?? '')?.[1]
      const marker = text === null ? null : parseReleaseMarker(text)
      return linked !== undefined && isReleaseId(linked) && marker?.id === linked ? marker : null
    })

  return {
    kind: 'ssh',
    url: opts.url ?? null,
    state,

    async diff(release, signal) {
      const live = await sftp(
        async (session) => liveMarker(session, await readlinkOrNull(session, `${root}/current`)),
        'unavailable',
        'read the live release',
      )
      const local = await listDeployFiles(release, 'ssh', {
        skipShared: shared,
        signal,
        ...(live === null ? {} : { known: live.files }),
      })
      return diffReleases(local, live?.files ?? new Map())
    },

    async upload(release, { signal, log }): Promise<UploadResult> {
      const id = checkReleaseId(release.id, 'ssh')
      // 1. Ask the host (SFTP, no shell) whether the release is there already and what is
      //    live, then hash the local files that differ from the live release's in git.
      const host = await sftp(
        async (session) => {
          const [complete, link] = await Promise.all([
            statOrNull(session, `${root}/releases/${id}/${RELEASE_MARKER}`),
            readlinkOrNull(session, `${root}/current`),
          ])
          if (complete !== null) return { complete: true as const }
          if (link === `releases/${id}`) {
            throw new DeployError(
              'upload-failed',
              'ssh',
              `Could not prepare the release folder on ${where}: ${liveWithoutMarker(id)}`,
            )
          }
          return { complete: false as const, link, marker: await liveMarker(session, link) }
        },
        'upload-failed',
        'read the live release',
      )
      if (signal.aborted) throw lost(undefined, 'upload-failed', signal)
      if (host.complete) {
        log.info({ target: 'ssh', release: id }, 'release already on the host')
        return { alreadyThere: true, sent: 0, reused: 0, bytesSent: 0 }
      }
      const marker: ReleaseMarker | null = host.marker
      // Nothing live to reuse: every file is sent, and hashed as the tar reads it.
      const files = await listDeployFiles(release, 'ssh', {
        skipShared: shared,
        signal,
        ...(marker === null ? { hash: false } : { known: marker.files }),
      })
      const live: ReleaseFiles = marker?.files ?? new Map()

      // 2. Decide: unchanged files (content and mode) are linked on the host, the rest sent.
      const reuse: string[] = []
      const send = new Set<string>()
      for (const [path, file] of files) {
        if (sameFile(live.get(path), file)) reuse.push(path)
        else send.add(path)
      }
      const tmp = `.tmp-${id}-${randomBytes(4).toString('hex')}`

      // 3. One command: the list of unchanged files (hard-linked on the host from the live
      //    release), then one tar of the rest; it renames the folder into place.
      const from = marker !== null && reuse.length > 0 ? marker.id : undefined
      const list = Buffer.from(from === undefined ? '' : `${reuse.join('\0')}\0`)
      const { stream, counter } = packRelease(release.dir, { id, files }, send, { prefix: '' })
      const command = uploadCommand(
        root,
        tmp,
        id,
        shared,
        from === undefined ? undefined : { from, listBytes: list.length },
      )
      const finished = await exec(command, {
        signal,
        input: from === undefined ? stream : Readable.from(listThenTar(list, stream)),
      })
      check(finished, 'upload-failed', 'unpack the release')
      log.info(
        { target: 'ssh', release: id, sent: send.size, reused: reuse.length, bytes: counter.bytes },
        'release uploaded',
      )

      // 4. Optionally start the release's services.
      if (opts.runCompose === true) {
        const composed = await helper({ verb: 'compose', args: [`${root}/releases/${id}`] }, signal)
        if (composed.code !== 0) {
          const tail = composed.stdout.trim().split('\n').slice(-5).join('; ')
          throw new DeployError(
            'upload-failed',
            'ssh',
            `docker compose up -d --build failed in ${root}/releases/${id} (exit ${composed.code}): ${tail}`,
          )
        }
      }
      return {
        alreadyThere: false,
        sent: send.size,
        reused: reuse.length,
        bytesSent: counter.bytes,
      }
    },

    async activate(releaseId, signal) {
      const id = checkReleaseId(releaseId, 'ssh')
      signal?.throwIfAborted()
      await sftp(
        async (session) => {
          const [complete, link] = await Promise.all([
            statOrNull(session, `${root}/releases/${id}/${RELEASE_MARKER}`),
            readlinkOrNull(session, `${root}/current`),
          ])
          if (complete === null) {
            throw new DeployError(
              'not-found',
              'ssh',
              `Release ${id} is not complete in ${where}/releases: upload it first.`,
            )
          }
          await replaceLink(session, root, 'current', `releases/${id}`)
          // `previous`: the release that was live, the instant rollback target prune keeps.
          // Losing it only makes prune less careful, so a failure here is not the switch's.
          const before = link?.split('/').at(-1) ?? ''
          if (before !== id && isReleaseId(before)) {
            await replaceLink(session, root, 'previous', `releases/${before}`).catch(
              (error: unknown) =>
                opts.log.warn(
                  { err: error, root },
                  'could not point previous at the release that was live',
                ),
            )
          }
        },
        'switch-failed',
        `switch ${root}/current to release ${id}`,
      )
    },

    async prune(keep, signal) {
      const { current, previous, releases } = await layout(signal)
      const remove = releasesToPrune(releases, [current, previous], keep)
      if (remove.length === 0) return []
      const result = await helper({ verb: 'remove', args: [`${root}/releases`, ...remove] }, signal)
      check(result, 'unavailable', 'remove old releases')
      return remove
    },

    async close() {
      // In a shared pool the connection stays for the next deploy or rollback to this host.
      lease?.release()
      lease = undefined
      if (opts.pool === undefined) await pool.close()
    },
  }
}

/** The list of unchanged files, then the tar, as one stdin (see uploadCommand). */
async function* listThenTar(list: Buffer, tar: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  yield list
  for await (const chunk of tar) yield chunk as Buffer
}
