import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { Client } from 'ssh2'
import { connectSsh, type SshLogin, type SshSettingNames } from '../../../runner/ssh/connect.js'
import { diffReleases, type ReleaseFiles, sameFile } from '../release-files.js'
import { DeployError, type DeployTarget, type TargetState, type UploadResult } from '../types.js'
import { packRelease } from './pack-release.js'
import {
  checkReleaseId,
  checkSharedPaths,
  isReleaseId,
  listDeployFiles,
  parseReleaseMarker,
  parseStateOutput,
  releasesToPrune,
  type TargetLayout,
} from './release-plan.js'
import {
  activateCommand,
  composeCommand,
  finishCommand,
  liveMarkerCommand,
  prepareCommand,
  removeCommand,
  SEPARATOR,
  stateCommand,
} from './ssh-commands.js'
import { type ExecResult, execRemote } from './ssh-exec.js'

/** The environment's ssh settings and EXTERNAL_DEPLOY_SSH_KEY_PATH / _KNOWN_HOSTS, plus: */
export interface SshTargetOptions extends SshLogin {
  /** The deploy folder on the host (holds releases/, shared/ and current). */
  root: string
  /** Folders (relative to a release) kept in `root/shared/` across releases. */
  shared?: string[]
  url?: string
  /** Run `docker compose up -d --build` in each new release (EXTERNAL_DEPLOY_RUN_COMPOSE). */
  runCompose?: boolean
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

/** Output kept from the commands that print markers (2,000 files make about 150 KB). */
const MARKER_OUTPUT = 64 * 1024 * 1024

/**
 * A deploy target on a host reached over SSH (host key checked against known_hosts). Upload
 * sends only files whose hash differs from the live release's marker, as one tar through one
 * exec channel, and hard-links the rest from the live release on the host in one command.
 */
export function createSshTarget(opts: SshTargetOptions): DeployTarget {
  const root = opts.root.replace(/\/+$/, '') || '/'
  const shared = checkSharedPaths(opts.shared ?? [])
  const where = `${opts.username}@${opts.host}:${root}`
  let client: Client | undefined

  const connect = async (): Promise<Client> => {
    if (client !== undefined) return client
    try {
      const made = await connectSsh({
        host: opts.host,
        port: opts.port ?? 22,
        username: opts.username,
        privateKeyPath: opts.privateKeyPath,
        ...(opts.knownHostsPath === undefined ? {} : { knownHostsPath: opts.knownHostsPath }),
        allowInsecure: opts.allowInsecure ?? false,
        readyTimeoutMs: 10_000,
        settings: SETTINGS,
        log: opts.log,
      })
      // A dropped connection is forgotten, so the next call connects again.
      made.on('close', () => {
        if (client === made) client = undefined
      })
      client = made
      return made
    } catch (error) {
      throw new DeployError(
        'unavailable',
        'ssh',
        `Cannot deploy to ${where}: ${(error as Error).message}`,
      )
    }
  }

  /** Runs a command; a connection or channel failure becomes a DeployError of `code`. */
  const exec = async (
    command: string,
    code: 'unavailable' | 'upload-failed',
    extra: Parameters<typeof execRemote>[2] = {},
  ): Promise<ExecResult> => {
    const ssh = await connect()
    try {
      const result = await execRemote(ssh, command, extra)
      if (result.code === null) {
        throw new Error(
          result.stderr.trim() || 'the channel closed without an exit status (connection lost)',
        )
      }
      return result
    } catch (error) {
      if (extra.signal?.aborted)
        throw new DeployError('aborted', 'ssh', `The deploy to ${where} was cancelled.`)
      if (error instanceof DeployError) throw error
      throw new DeployError(
        code,
        'ssh',
        `The SSH connection to ${where} failed: ${(error as Error).message}`,
      )
    }
  }

  /** Throws for a command that ran and failed, with the first lines of its stderr. */
  const check = (
    result: ExecResult,
    code: 'upload-failed' | 'switch-failed' | 'unavailable',
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
    const result = await exec(stateCommand(root), 'unavailable', {
      maxOutput: MARKER_OUTPUT,
      ...(signal === undefined ? {} : { signal }),
    })
    return parseStateOutput(result.stdout, SEPARATOR)
  }
  const state = async (signal?: AbortSignal): Promise<TargetState> => {
    const { current, releases } = await layout(signal)
    return { current, releases }
  }

  return {
    kind: 'ssh',
    url: opts.url ?? null,
    state,

    async diff(release, signal) {
      const local = await listDeployFiles(release, 'ssh', { skipShared: shared, signal })
      const live = await exec(liveMarkerCommand(root), 'unavailable', {
        maxOutput: MARKER_OUTPUT,
        ...(signal === undefined ? {} : { signal }),
      })
      return diffReleases(local, parseReleaseMarker(live.stdout)?.files ?? new Map())
    },

    async upload(release, { signal, log }): Promise<UploadResult> {
      const id = checkReleaseId(release.id, 'ssh')
      // 1. Hash the local release while connecting, cleaning up and reading what is live (one
      //    round trip): the hashing is most of a one-file redeploy's own time.
      const listing = listDeployFiles(release, 'ssh', { skipShared: shared, signal })
      listing.catch(() => undefined) // awaited below, unless the prepare step throws first
      const prepared = await exec(prepareCommand(root, id, shared), 'upload-failed', {
        signal,
        maxOutput: MARKER_OUTPUT,
      })
      check(prepared, 'upload-failed', 'prepare the release folder')
      if (prepared.stdout.startsWith('complete')) {
        log.info({ target: 'ssh', release: id }, 'release already on the host')
        return { alreadyThere: true, sent: 0, reused: 0, bytesSent: 0 }
      }
      const files = await listing
      const [head = '', markerText = ''] = prepared.stdout.split(`${SEPARATOR}\n`)
      const linked = /^releases\/([0-9a-f]+)$/.exec(head.split('\n')[1]?.trim() ?? '')?.[1]
      const marker = parseReleaseMarker(markerText)
      // Files are reused only from a live release whose marker is its own.
      const fromLive = linked !== undefined && isReleaseId(linked) && marker?.id === linked
      const live: ReleaseFiles = fromLive ? marker.files : new Map()

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
      const from = fromLive && reuse.length > 0 ? linked : undefined
      const list = Buffer.from(from === undefined ? '' : `${reuse.join('\0')}\0`)
      const { stream, counter } = packRelease(release.dir, { id, files }, send, { prefix: '' })
      const command = finishCommand(
        root,
        tmp,
        id,
        shared,
        from === undefined ? undefined : { from, listBytes: list.length },
      )
      const finished = await exec(command, 'upload-failed', {
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
        const composed = await exec(composeCommand(root, id), 'upload-failed', { signal })
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
      const result = await exec(
        activateCommand(root, id),
        'unavailable',
        signal === undefined ? {} : { signal },
      )
      if (result.code === 3) {
        throw new DeployError(
          'not-found',
          'ssh',
          `Release ${id} is not complete in ${where}/releases: upload it first.`,
        )
      }
      check(result, 'switch-failed', `switch ${root}/current to release ${id}`)
    },

    async prune(keep, signal) {
      const { current, previous, releases } = await layout(signal)
      const remove = releasesToPrune(releases, [current, previous], keep)
      if (remove.length === 0) return []
      const result = await exec(
        removeCommand(root, remove),
        'unavailable',
        signal === undefined ? {} : { signal },
      )
      check(result, 'unavailable', 'remove old releases')
      return remove
    },

    async close() {
      client?.end()
      client = undefined
    },
  }
}

/** The list of unchanged files, then the tar, as one stdin (see finishCommand). */
async function* listThenTar(list: Buffer, tar: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  yield list
  for await (const chunk of tar) yield chunk as Buffer
}
