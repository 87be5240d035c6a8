import {
  listReleaseFiles,
  type ReleaseFile,
  type ReleaseFiles,
  ReleaseFilesError,
} from '../release-files.js'
import { DeployError, type DeployTarget, type Release, type TargetState } from '../types.js'

// The layout every target (local, ssh, php) gives a release: `releases/<tree id>/` holding the
// files, the marker written last, and shared folders linked to `<root>/shared/`.

/** Written last into every complete release: its id and its files (see formatReleaseMarker). */
export const RELEASE_MARKER = '.devsys-release.json'

/** What a release's marker records. */
export interface ReleaseMarker {
  id: string
  /** Kept so that diff and reuse never re-hash (or follow the shared links of) a live release. */
  files: ReleaseFiles
}

/** The marker's text: `{id, fileCount, files: {path: {sha256, size, mode, blob?}}}`, paths sorted. */
export function formatReleaseMarker(marker: ReleaseMarker): string {
  const files = Object.fromEntries(marker.files)
  return `${JSON.stringify({ id: marker.id, fileCount: marker.files.size, files })}\n`
}

/** Reads a marker back; anything malformed is null (no release, or not a complete one). */
export function parseReleaseMarker(text: string): ReleaseMarker | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (!isObject(value) || typeof value.id !== 'string' || !isObject(value.files)) return null
  const files: ReleaseFiles = new Map()
  for (const [path, file] of Object.entries(value.files)) {
    if (!isReleaseFile(file)) return null
    files.set(path, {
      sha256: file.sha256,
      size: file.size,
      mode: file.mode,
      ...(file.blob === undefined ? {} : { blob: file.blob }),
    })
  }
  return value.fileCount === files.size ? { id: value.id, files } : null
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function isReleaseFile(value: unknown): value is ReleaseFile {
  return (
    isObject(value) &&
    typeof value.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(value.sha256) &&
    Number.isSafeInteger(value.size) &&
    Number.isInteger(value.mode) &&
    (value.mode as number) >= 0 &&
    (value.mode as number) <= 0o777 &&
    (value.blob === undefined ||
      (typeof value.blob === 'string' && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(value.blob)))
  )
}

/**
 * The files a target deploys from a release folder: all but a committed file named like the
 * marker (the marker would overwrite it) and the `skipShared` folders, which the ssh and php
 * targets leave to the host (the local target seeds its shared folders from the first release).
 * A release that cannot be deployed (a link out of it), a cancel and a read failure are
 * DeployErrors, so every target reports them alike.
 */
export async function listDeployFiles(
  release: Release,
  target: DeployTarget['kind'],
  opts: {
    skipShared?: readonly string[]
    signal?: AbortSignal | undefined
    /** The live release's files (its marker), see ListReleaseFilesOptions.known. */
    known?: ReleaseFiles
    /** False: leave the hashing to packRelease (see ListReleaseFilesOptions.hash). */
    hash?: boolean
  } = {},
): Promise<ReleaseFiles> {
  const shared = opts.skipShared ?? []
  try {
    return await listReleaseFiles(release.dir, {
      skip: (path) => path === RELEASE_MARKER || isShared(path, shared),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      ...(opts.known === undefined ? {} : { known: opts.known }),
      ...(opts.hash === undefined ? {} : { hash: opts.hash }),
    })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (opts.signal?.aborted === true)
      throw new DeployError('aborted', target, `reading release ${release.id} was cancelled`)
    if (error instanceof ReleaseFilesError)
      throw new DeployError('upload-failed', target, `release ${release.id}: ${message}`)
    throw new DeployError('upload-failed', target, `cannot read release ${release.id}: ${message}`)
  }
}

/**
 * Why a target will not replace the live release's folder although it has no marker (made by
 * an older DevSys, or damaged): removing it would take the site down until the upload ends.
 */
export function liveWithoutMarker(id: string): string {
  return `releases/${id} is the live release but has no ${RELEASE_MARKER} (an older DevSys made it, or it was changed by hand), so it is not replaced while live: deploy another commit first, then this one again.`
}

/** A tree id (SHA-1 or SHA-256 git): the only thing that is ever put in a release's path. */
const RELEASE_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** Throws unless `id` is a git tree id, so it can name a folder without quoting concerns. */
export function checkReleaseId(id: string, target: DeployTarget['kind']): string {
  if (!RELEASE_ID.test(id)) {
    throw new DeployError(
      'not-found',
      target,
      `${JSON.stringify(id)} is not a release id (a git tree id)`,
    )
  }
  return id
}

/** Whether a name read back from the target is a release folder (not .tmp-*, not junk). */
export function isReleaseId(name: string): boolean {
  return RELEASE_ID.test(name)
}

/**
 * Checks the environment's shared folders: relative and already normalized (no `.`, `..` or
 * empty segment), so the same string names the folder in a release, in `shared/` and in scripts.
 */
export function checkSharedPaths(shared: readonly string[]): string[] {
  return shared.map((raw) => {
    const path = raw.replace(/\/+$/, '')
    const parts = path.split('/')
    if (
      path === '' ||
      path.startsWith('/') ||
      parts.some((p) => p === '' || p === '.' || p === '..')
    ) {
      throw new Error(
        `shared folder ${JSON.stringify(raw)} must be a relative path inside the release, like data or var/uploads (no '.', '..' or '//'): fix the environment's shared list in .github/devsys.yml`,
      )
    }
    return path
  })
}

/** Whether `path` (posix, relative to a release) is one of the shared folders or inside one. */
export function isShared(path: string, shared: readonly string[]): boolean {
  return shared.some((s) => path === s || path.startsWith(`${s}/`))
}

/** The link a release holds at `path` to reach `<root>/shared/<path>` from `releases/<id>/`. */
export function sharedLinkTarget(path: string): string {
  return `${'../'.repeat(path.split('/').length + 1)}shared/${path}`
}

/** What the state scripts print: `current`, `previous` (the instant rollback target) and releases. */
export interface TargetLayout extends TargetState {
  /** The release live before `current`, which prune keeps, or null when there is none. */
  previous: string | null
}

/**
 * Reads the output of the state scripts: the `current` link, the `previous` link, a separator
 * line, then `releases/<id>/<marker>` lines newest first. Only hex ids count (not `.tmp-*`, not
 * junk); a link names its release by its last segment, as the local target reads it.
 */
export function parseStateOutput(stdout: string, separator: string): TargetLayout {
  const [links = '', listing = ''] = stdout.split(`${separator}\n`)
  const [current = '', previous = ''] = links.split('\n')
  const releases = listing
    .split('\n')
    .map((line) => /^releases\/([^/]+)\//.exec(line)?.[1])
    .filter((id): id is string => id !== undefined && isReleaseId(id))
  return { current: linkedRelease(current), previous: linkedRelease(previous), releases }
}

function linkedRelease(link: string): string | null {
  const id = link.trim().split('/').at(-1) ?? ''
  return link.trim() !== '' && isReleaseId(id) ? id : null
}

/**
 * The releases prune removes, newest first: never `current` or `previous` (the instant rollback
 * target), which count towards `keep`; the newest of the others fill what is left of it. Every
 * target counts this way, so a keep of N leaves the same releases wherever the site lives.
 */
export function releasesToPrune(
  releases: readonly string[],
  protect: readonly (string | null)[],
  keep: number,
): string[] {
  const kept = new Set(protect.filter((id): id is string => id !== null && releases.includes(id)))
  const removed: string[] = []
  for (const id of releases) {
    if (kept.has(id)) continue
    if (kept.size < keep) kept.add(id)
    else removed.push(id)
  }
  return removed
}

/**
 * The lines that point `previous` at `$before` (the last segment of `current`'s link, read
 * before the switch) unless it is the release now live or not a release id. Losing `previous` only makes
 * prune less careful, so a failure here still ends with exit 0: the switch itself is done.
 * For the php and ssh targets' activate scripts (the local target does this with rename(2));
 * `id` is the shell word naming the new release ("$2", or a checked hex id).
 */
export function previousLines(id: string): string[] {
  return [
    // Only a release id (40 or 64 hex characters) other than the new one, as isReleaseId says.
    `case $before in ${id}|*[!0-9a-f]*) exit 0 ;; ${'?'.repeat(40)}|${'?'.repeat(64)}) ;; *) exit 0 ;; esac`,
    'rm -f .previous-tmp && ln -s "releases/$before" .previous-tmp && mv -T .previous-tmp previous',
    'exit 0',
  ]
}
