import type { Logger } from 'pino'

/**
 * A release: the files of one commit's tree, named by the tree id. The same tree (a revert of a
 * revert, a redeploy) is the same release, so deploying it again is only a switch.
 */
export interface Release {
  /** The git tree id of the deployed commit (40 hex characters). */
  id: string
  /** Local directory holding the release's files (a checkout without .git). */
  dir: string
}

/** What a deploy would change against the live release (for `/deploy --dry-run`). */
export interface ReleaseDiff {
  added: string[]
  changed: string[]
  removed: string[]
}

export interface UploadResult {
  /** The release was already complete on the target: nothing was sent. */
  alreadyThere: boolean
  /** Files sent over the wire (or copied in). */
  sent: number
  /** Files taken from the previous release on the target because their content was unchanged. */
  reused: number
  bytesSent: number
}

export interface TargetState {
  /** The release `current` points at, or null before the first deploy. */
  current: string | null
  /** Complete releases on the target, newest first. */
  releases: string[]
}

/**
 * Where a site is deployed: `releases/<id>/`, shared directories that outlive releases, and a
 * `current` symlink switched atomically, with `previous` pointing at the release live before it.
 * Nothing touches `current` or `previous` except `activate`.
 */
export interface DeployTarget {
  kind: 'local' | 'php' | 'ssh'
  /** Where the live site answers, for verification and GitHub's "View deployment". */
  url: string | null
  /**
   * The origin DevSys itself chose for this target (the php -S it started, the server's
   * PHP_DEPLOY_URL); absent when only the repository's config names the URL. Acceptance checks
   * may reach this origin even on loopback; any other loopback or private address is refused.
   */
  trustedOrigin?: string
  state(signal?: AbortSignal): Promise<TargetState>
  /** Files `release` would add, change and remove against what is live. */
  diff(release: Release, signal?: AbortSignal): Promise<ReleaseDiff>
  /** Makes the release complete on the target without touching `current`. */
  upload(release: Release, opts: { signal: AbortSignal; log: Logger }): Promise<UploadResult>
  /**
   * Points `current` at a complete release in one atomic rename, then `previous` at the release
   * that was current (when it was another one), the same way.
   */
  activate(releaseId: string, signal?: AbortSignal): Promise<void>
  /**
   * Removes the oldest releases beyond `keep`, never `current` or `previous` (which count towards
   * `keep`); returns what was removed, newest first.
   */
  prune(keep: number, signal?: AbortSignal): Promise<string[]>
  /** Releases what the target holds open (connections, servers). */
  close(): Promise<void>
}

export type DeployErrorCode =
  | 'unavailable'
  | 'upload-failed'
  | 'no-space'
  | 'not-found'
  | 'switch-failed'
  | 'aborted'

/** A target failed (unreachable, full, gone): the live site is untouched unless the code says so. */
export class DeployError extends Error {
  constructor(
    readonly code: DeployErrorCode,
    readonly target: DeployTarget['kind'],
    message: string,
  ) {
    super(message)
    this.name = 'DeployError'
  }
}
