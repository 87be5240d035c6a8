import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import {
  chmod,
  copyFile,
  cp,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'
import { handOver } from '../../../runner/sandbox/hand-over.js'
import { diffReleases, type ReleaseFiles, sameFile } from '../release-files.js'
import { DeployError, type DeployTarget, type Release, type UploadResult } from '../types.js'
import { codeOf, exists, messageOf, tryLink } from './local-fs.js'
import {
  checkSharedPaths,
  formatReleaseMarker,
  isReleaseId,
  isShared,
  listDeployFiles,
  liveWithoutMarker,
  parseReleaseMarker,
  RELEASE_MARKER,
  type ReleaseMarker,
  releasesToPrune,
  sharedLinkTarget,
} from './release-plan.js'

export interface LocalTargetOptions {
  /** The target directory: `releases/`, `shared/` and the `current` symlink live here. */
  root: string
  /** Directories (posix, relative to a release) kept across releases, e.g. ['data']. */
  shared?: string[]
  /** Where the site answers (e.g. servePhp's URL), for verification. */
  url?: string
  /** Who owns new shared folders: the sandbox user the site runs as, so it can write there. */
  sharedOwner?: { uid: number; gid: number }
  /** The origin DevSys serves this target on itself (see DeployTarget.trustedOrigin). */
  trustedOrigin?: string
}

/** A deploy target in a directory on this machine (the embedded default). */
export function createLocalTarget(opts: LocalTargetOptions): DeployTarget {
  const root = opts.root
  const releasesDir = join(root, 'releases')
  const shared = checkSharedPaths(opts.shared ?? [])
  const fail = (code: DeployError['code'], message: string) =>
    new DeployError(code, 'local', message)

  /** The marker of a complete release, or null (no such release, or not complete). */
  async function readMarker(id: string): Promise<ReleaseMarker | null> {
    const text = await readFile(join(releasesDir, id, RELEASE_MARKER), 'utf8').catch(() => '')
    const marker = parseReleaseMarker(text)
    return marker?.id === id ? marker : null
  }

  /** The release a link in root points at (`current`, `previous`), or null when there is none. */
  async function linkedId(name: string): Promise<string | null> {
    try {
      const id = posix.basename(await readlink(join(root, name)))
      return isReleaseId(id) ? id : null
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return null
      throw fail('unavailable', `cannot read ${join(root, name)}: ${messageOf(error)}`)
    }
  }
  const currentId = () => linkedId('current')

  /** Points `root/<name>` at a release by renaming a fresh link over it (never unlinking first). */
  async function relink(name: string, releaseId: string): Promise<void> {
    const temp = join(root, `.${name}-${randomBytes(6).toString('hex')}`)
    try {
      await symlink(`releases/${releaseId}`, temp)
      await rename(temp, join(root, name))
    } catch (error) {
      await unlink(temp).catch(() => undefined)
      throw error
    }
  }

  async function liveFiles(): Promise<ReleaseFiles> {
    const id = await currentId()
    const marker = id === null ? null : await readMarker(id)
    return marker?.files ?? new Map()
  }

  async function completeReleases(): Promise<string[]> {
    let names: string[]
    try {
      names = await readdir(releasesDir)
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return []
      throw fail('unavailable', `cannot list ${releasesDir}: ${messageOf(error)}`)
    }
    const dated: { id: string; at: number }[] = []
    for (const id of names.filter(isReleaseId)) {
      try {
        dated.push({ id, at: (await stat(join(releasesDir, id, RELEASE_MARKER))).mtimeMs })
      } catch {
        // No marker: not a complete release (someone else's debris); state does not list it.
      }
    }
    return dated.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1)).map((d) => d.id)
  }

  async function upload(release: Release, signal: AbortSignal): Promise<UploadResult> {
    if (!isReleaseId(release.id)) throw fail('upload-failed', `bad release id ${release.id}`)
    if ((await readMarker(release.id)) !== null) {
      return { alreadyThere: true, sent: 0, reused: 0, bytesSent: 0 }
    }
    const final = join(releasesDir, release.id)
    const tmp = join(releasesDir, `.tmp-${release.id}-${randomBytes(6).toString('hex')}`)
    const sharedSeeds: string[] = []
    try {
      const files = await listDeployFiles(release, 'local', { signal })
      const live = await liveFiles()
      const liveId = await currentId()
      await mkdir(tmp, { recursive: true })
      let sent = 0
      let reused = 0
      let bytesSent = 0
      const made = new Set<string>()
      for (const [path, file] of files) {
        signal.throwIfAborted()
        const dest = join(tmp, path)
        const parent = dirname(dest)
        if (!made.has(parent)) {
          await mkdir(parent, { recursive: true })
          made.add(parent)
        }
        // Files under a shared directory are live data in the current release, never reused.
        if (liveId !== null && sameFile(live.get(path), file) && !isShared(path, shared)) {
          // Releases are never written to, so an unchanged file can share the live one's inode.
          if (await tryLink(join(releasesDir, liveId, path), dest)) {
            reused++
            continue
          }
        }
        await copyFile(join(release.dir, path), dest, constants.COPYFILE_FICLONE)
        await chmod(dest, file.mode)
        sent++
        bytesSent += file.size
      }
      for (const dir of shared) {
        signal.throwIfAborted()
        await linkShared(tmp, dir, sharedSeeds)
      }
      await writeFile(join(tmp, RELEASE_MARKER), formatReleaseMarker({ id: release.id, files }))
      // A release directory without its marker was not made by a finished upload (the rename
      // below is the only way one appears): clear it so the rename can land, unless it is live.
      if (await exists(final)) {
        if ((await currentId()) === release.id)
          throw fail('upload-failed', liveWithoutMarker(release.id))
        await rm(final, { recursive: true, force: true })
      }
      try {
        await rename(tmp, final)
      } catch (error) {
        // Another upload of the same tree finished first: its copy is as good as ours.
        if ((await readMarker(release.id)) === null) throw error
        await rm(tmp, { recursive: true, force: true })
        return { alreadyThere: true, sent: 0, reused: 0, bytesSent: 0 }
      }
      return { alreadyThere: false, sent, reused, bytesSent }
    } catch (error) {
      await rm(tmp, { recursive: true, force: true })
      for (const seed of sharedSeeds) await rm(seed, { recursive: true, force: true })
      if (error instanceof DeployError) throw error
      if (signal.aborted) throw fail('aborted', `upload of ${release.id} was cancelled`)
      if (codeOf(error) === 'ENOSPC') {
        throw fail(
          'no-space',
          `no space left in ${root} while copying ${release.id}; free space there (prune old releases) and deploy again`,
        )
      }
      throw fail('upload-failed', `upload of ${release.id} to ${root} failed: ${messageOf(error)}`)
    }
  }

  /**
   * Seeds `shared/<dir>` from the release's copy the first time, then replaces the release's
   * copy with a link to it. The seed is copied under a temporary name and renamed, so a full
   * disk never leaves a half-seeded shared directory that later releases would keep.
   */
  async function linkShared(tmp: string, dir: string, seeds: string[]) {
    const target = join(root, 'shared', dir)
    const inRelease = join(tmp, dir)
    if (!(await exists(target))) {
      await mkdir(dirname(target), { recursive: true })
      const seed = `${target}.tmp-${randomBytes(6).toString('hex')}`
      seeds.push(seed)
      if (await exists(inRelease)) await cp(inRelease, seed, { recursive: true })
      else await mkdir(seed)
      if (opts.sharedOwner !== undefined) await handOver(seed, opts.sharedOwner)
      await rename(seed, target)
    }
    await rm(inRelease, { recursive: true, force: true })
    await mkdir(dirname(inRelease), { recursive: true })
    // Relative, from where the release will live (releases/<id>/), so the root can be moved whole.
    await symlink(sharedLinkTarget(dir), inRelease)
  }

  async function state() {
    return { current: await currentId(), releases: await completeReleases() }
  }

  return {
    kind: 'local',
    url: opts.url ?? null,
    ...(opts.trustedOrigin === undefined ? {} : { trustedOrigin: opts.trustedOrigin }),
    state,
    async diff(release, signal) {
      const next = await listDeployFiles(release, 'local', { signal })
      return diffReleases(next, await liveFiles())
    },
    upload: (release, { signal }) => upload(release, signal),
    async activate(releaseId, signal) {
      signal?.throwIfAborted()
      // The marker's presence is enough (a release folder appears by rename, marker inside);
      // parsing it made the switch grow with the site (2.6 MB of JSON at 20,000 files).
      if (
        !isReleaseId(releaseId) ||
        !(await exists(join(releasesDir, releaseId, RELEASE_MARKER)))
      ) {
        throw fail(
          'not-found',
          `release ${releaseId} is not complete in ${releasesDir}; upload it first`,
        )
      }
      const before = await currentId()
      try {
        // rename(2) replaces `current` in one step: there is no moment without a live site.
        await relink('current', releaseId)
      } catch (error) {
        const code = codeOf(error) === 'ENOSPC' ? 'no-space' : 'switch-failed'
        throw fail(code, `switching ${root}/current to ${releaseId} failed: ${messageOf(error)}`)
      }
      // The instant-rollback target, which prune keeps; losing it only makes prune less careful.
      if (before !== null && before !== releaseId)
        await relink('previous', before).catch(() => undefined)
    },
    async prune(keep, signal) {
      const { current, releases } = await state()
      // The release live before current is the instant rollback target: keep it too.
      const removed: string[] = []
      for (const id of releasesToPrune(releases, [current, await linkedId('previous')], keep)) {
        signal?.throwIfAborted()
        // Renamed first so that state() stops listing it even if the removal is interrupted.
        const doomed = join(releasesDir, `.tmp-prune-${id}`)
        await rename(join(releasesDir, id), doomed)
        await rm(doomed, { recursive: true, force: true })
        removed.push(id)
      }
      // Leftovers of killed processes (deploys hold the environment's lock, so none is running).
      for (const name of await readdir(releasesDir).catch(() => [] as string[])) {
        if (name.startsWith('.tmp-'))
          await rm(join(releasesDir, name), { recursive: true, force: true })
      }
      return removed
    },
    async close() {},
  }
}
