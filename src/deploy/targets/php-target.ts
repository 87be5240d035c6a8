import { randomBytes } from 'node:crypto'
import Dockerode from 'dockerode'
import { describeEngine } from '../../../runner/docker/docker-errors.js'
import { diffReleases } from '../release-files.js'
import { DeployError, type DeployTarget, type UploadResult } from '../types.js'
import { packRelease } from './pack-release.js'
import { startPhpHelper } from './php-helper.js'
import {
  activateRequest,
  finishRequest,
  liveMarkerRequest,
  type PhpRequest,
  prepareRequest,
  removeRequest,
  SEPARATOR,
  stateRequest,
} from './php-scripts.js'
import {
  checkReleaseId,
  checkSharedPaths,
  listDeployFiles,
  parseReleaseMarker,
  parseStateOutput,
  releasesToPrune,
} from './release-plan.js'
import type { ShellHelper } from './shell-helper.js'

export interface PhpTargetOptions {
  /** Name or id of the running Apache + PHP container (the `php` service). */
  container: string
  docker?: Dockerode
  /** The deploy folder in the container; default PHP_DEPLOY_BASE (Apache serves current/public). */
  root?: string
  /**
   * The site this deploy is, `<owner>/<repo>/<folder>` (root is PHP_DEPLOY_BASE/site): the
   * container must serve exactly this site (its DEVSYS_SITE variable), or the deploy is refused.
   * DevSys's target factory always sets it.
   */
  site?: string
  shared?: string[]
  url?: string
  /** The server's PHP_DEPLOY_URL origin (see DeployTarget.trustedOrigin). */
  trustedOrigin?: string
  /**
   * Each container's long-lived helper (php-helper.ts), kept across targets by DevSys's target
   * factory. Without it, the target starts its own, and close() stops it.
   */
  helpers?: Map<string, Promise<ShellHelper>>
}

/**
 * Where the php container (devsys/php-apache) keeps sites: its Apache serves
 * `/var/www/devsys/$DEVSYS_SITE/current/public`, and docker-compose.yml mounts a volume here.
 */
export const PHP_DEPLOY_BASE = '/var/www/devsys'

/** The container variable naming the one site (`<owner>/<repo>/<folder>`) a php container serves. */
export const PHP_SITE_VARIABLE = 'DEVSYS_SITE'

/**
 * A deploy target inside an Apache + PHP container (devsys/php-apache), driven through the
 * Docker engine: a release is copied in with one putArchive into a temp folder, and the scripts
 * that rename it into place, switch `current`, list and remove releases run in one long-lived
 * helper shell per container (php-helper.ts). Everything stays on the container's volume.
 */
/** The label (value `php`) that makes a container one DevSys may deploy into. */
export const PHP_TARGET_LABEL = 'org.devsys.deploy-target'

export function createPhpTarget(opts: PhpTargetOptions): DeployTarget {
  const docker = opts.docker ?? new Dockerode()
  const root = (opts.root ?? PHP_DEPLOY_BASE).replace(/\/+$/, '') || '/'
  const shared = checkSharedPaths(opts.shared ?? [])
  const where = `${root} in the container ${opts.container}`
  const container = docker.getContainer(opts.container)
  const helpers = opts.helpers ?? new Map<string, Promise<ShellHelper>>()

  /** The container's helper: started on first use, again when it has stopped (a restart). */
  const helper = async (): Promise<ShellHelper> => {
    const kept = helpers.get(opts.container)
    if (kept !== undefined && (await kept.catch(() => undefined))?.closed === false) return kept
    const started = startPhpHelper(docker, container)
    helpers.set(opts.container, started)
    started.catch(() => {
      if (helpers.get(opts.container) === started) helpers.delete(opts.container)
    })
    return started
  }

  /** Turns a Docker failure into a DeployError that says what is wrong and what to do. */
  const failure = (
    error: unknown,
    code: 'unavailable' | 'upload-failed',
    what: string,
  ): DeployError => {
    if (error instanceof DeployError) return error
    const {
      statusCode,
      message = String(error),
      code: errno,
    } = error as {
      statusCode?: number
      message?: string
      code?: string
    }
    if (statusCode === 404 && /container/i.test(message)) {
      return new DeployError(
        'not-found',
        'php',
        `The container ${opts.container} is gone (could not ${what}): start the php service (docker compose up -d php) or fix the target's container name; nothing was deployed.`,
      )
    }
    if (statusCode === 409) {
      return new DeployError(
        'unavailable',
        'php',
        `The container ${opts.container} is not running (could not ${what}): start it (docker start ${opts.container}) and deploy again.`,
      )
    }
    if (errno !== undefined && statusCode === undefined) {
      return new DeployError(
        'unavailable',
        'php',
        `Cannot reach the Docker engine at ${describeEngine(docker)} (${errno}) to ${what}: start dockerd.`,
      )
    }
    if (/no space left/i.test(message)) {
      return new DeployError(
        'no-space',
        'php',
        `No space left on the volume of ${where} while trying to ${what}: prune releases or grow the volume; the live site is unchanged.`,
      )
    }
    return new DeployError(code, 'php', `Could not ${what} (${where}): ${message}`)
  }

  // A repo config names the container, and the Docker engine reaches every container on the
  // host (DevSys's own among them): only one its operator labelled as a deploy target is used.
  let opted: Promise<void> | undefined
  const checkOptedIn = async (): Promise<void> => {
    const info = await container.inspect().catch((error: unknown) => {
      throw failure(error, 'unavailable', 'inspect it')
    })
    if (info.Config.Labels?.[PHP_TARGET_LABEL] !== 'php') {
      throw new DeployError(
        'unavailable',
        'php',
        `The container ${opts.container} is not a DevSys deploy target: DevSys only deploys into containers labelled ${PHP_TARGET_LABEL}=php (the php service of docker-compose.yml is). Add the label to the container meant for it, or fix the environment's php.container.`,
      )
    }
    // One container serves one site, which its operator names: a repository may only write
    // the site the container serves, never another repository's (served or not).
    if (opts.site === undefined) return
    const prefix = `${PHP_SITE_VARIABLE}=`
    const served = info.Config.Env?.find((v) => v.startsWith(prefix))?.slice(prefix.length) ?? ''
    if (served !== opts.site) {
      throw new DeployError(
        'unavailable',
        'php',
        `The container ${opts.container} ${served === '' ? `serves no site yet (its ${PHP_SITE_VARIABLE} is unset)` : `serves ${served}`}, not ${opts.site}, so DevSys does not deploy ${opts.site} into it. ` +
          `The server's operator assigns a php container to one repository's environment: set ${PHP_SITE_VARIABLE}=${opts.site} on a container labelled ${PHP_TARGET_LABEL}=php (DEVSYS_PHP_SITE for the php service of docker-compose.yml) and name it in the environment's php.container (default PHP_DEPLOY_CONTAINER).`,
      )
    }
  }

  const run = async (
    request: PhpRequest,
    what: string,
    code: 'unavailable' | 'upload-failed' | 'switch-failed' = 'unavailable',
  ) => {
    opted ??= checkOptedIn()
    try {
      await opted
    } catch (error) {
      opted = undefined
      throw error
    }
    const result = await helper()
      .then((h) => h.run(request))
      .catch((error: unknown) => {
        throw failure(error, code === 'switch-failed' ? 'unavailable' : code, what)
      })
    if (result.code !== 0 && result.code !== 3) {
      const full = /No space left/i.test(result.stderr)
      throw new DeployError(
        full ? 'no-space' : code,
        'php',
        `Could not ${what} (${where}, exit ${result.code}): ${result.stderr.trim().split('\n').slice(0, 5).join('; ')}`,
      )
    }
    return result
  }

  const layout = async () =>
    parseStateOutput((await run(stateRequest(root), 'read the releases')).stdout, SEPARATOR)
  const state = async () => {
    const { current, releases } = await layout()
    return { current, releases }
  }

  return {
    kind: 'php',
    url: opts.url ?? null,
    ...(opts.trustedOrigin === undefined ? {} : { trustedOrigin: opts.trustedOrigin }),
    state,

    async diff(release, signal) {
      const local = await listDeployFiles(release, 'php', { skipShared: shared, signal })
      const live = await run(liveMarkerRequest(root), 'read the live release')
      return diffReleases(local, parseReleaseMarker(live.stdout)?.files ?? new Map())
    },

    async upload(release, { signal, log }): Promise<UploadResult> {
      const id = checkReleaseId(release.id, 'php')
      const files = await listDeployFiles(release, 'php', { skipShared: shared, signal })
      // 1. Layout, stale temp releases removed, and is this release there already?
      const prepared = await run(
        prepareRequest(root, id, shared),
        'prepare the release folder',
        'upload-failed',
      )
      if (prepared.stdout.startsWith('complete')) {
        log.info({ target: 'php', release: id }, 'release already in the container')
        return { alreadyThere: true, sent: 0, reused: 0, bytesSent: 0 }
      }
      if (signal.aborted)
        throw new DeployError('aborted', 'php', 'The deploy was cancelled before the upload.')
      // 2. Everything in one archive (a local copy, so no need to reuse files), marker last.
      const tmp = `.tmp-${id}-${randomBytes(4).toString('hex')}`
      const send = new Set(files.keys())
      const { stream, counter } = packRelease(release.dir, { id, files }, send, { prefix: tmp })
      await container
        .putArchive(stream, { path: `${root}/releases`, abortSignal: signal })
        .catch((error: unknown) => {
          if (signal.aborted)
            throw new DeployError('aborted', 'php', 'The deploy was cancelled during the upload.')
          throw failure(error, 'upload-failed', 'copy the release in')
        })
      // 3. Shared links, then the rename that makes the release complete.
      await run(finishRequest(root, tmp, id, shared), 'finish the release', 'upload-failed')
      log.info(
        { target: 'php', release: id, sent: send.size, bytes: counter.bytes },
        'release copied in',
      )
      return { alreadyThere: false, sent: send.size, reused: 0, bytesSent: counter.bytes }
    },

    async activate(releaseId) {
      const id = checkReleaseId(releaseId, 'php')
      const result = await run(
        activateRequest(root, id),
        `switch current to ${id}`,
        'switch-failed',
      )
      if (result.code === 3) {
        throw new DeployError(
          'not-found',
          'php',
          `Release ${id} is not complete in ${where}: upload it first.`,
        )
      }
    },

    async prune(keep) {
      const { current, previous, releases } = await layout()
      const remove = releasesToPrune(releases, [current, previous], keep)
      if (remove.length > 0) await run(removeRequest(root, remove), 'remove old releases')
      return remove
    },

    async close() {
      // A helper of its own ends with the target; one the factory keeps stays for the next.
      if (opts.helpers === undefined)
        for (const kept of helpers.values()) (await kept.catch(() => undefined))?.close()
    },
  }
}
