import type { Logger } from 'pino'
import type { GitHubClient } from '../../app-deps.js'
import type { GitWorkspaces } from '../../git/create-git-workspaces.js'
import { installationToken } from '../../github/installation-token.js'
import type { AcceptanceCheck } from '../../manifest/types.js'
import type { DeploymentStore, TaskStore } from '../../store/store.js'
import { withRelease } from '../checkout-release.js'
import { checksInTree } from '../checks-in-tree.js'
import type { DeployTarget, UploadResult } from '../types.js'
import type { ResolvedDeploy } from './types.js'

/** What the upload step leaves for the next steps. */
export interface Uploaded {
  /** The release live before this deploy (null before the first one). */
  live: string | null
  releaseId: string
  upload: UploadResult
  /** The checks the release is verified with. */
  checks: AcceptanceCheck[]
}

/**
 * Upload: the commit's release is made complete on the target beside the live one; `current`
 * is not touched. Its id goes on the deploy's record. Without the task's checks (`checks`
 * null) the release is verified with those of the task whose record is in its tree.
 */
export async function uploadRelease(
  deps: { git: GitWorkspaces; store: TaskStore & DeploymentStore; maxManifestBytes: number },
  github: GitHubClient,
  p: ResolvedDeploy,
  input: {
    target: DeployTarget
    record: number
    checks: AcceptanceCheck[] | null
    signal: AbortSignal
    log: Logger
  },
): Promise<Uploaded> {
  const { target, signal } = input
  const before = await target.state(signal)
  const token = await installationToken(github, p.installationId)
  const { releaseId, upload, checks } = await withRelease(
    deps.git,
    { repo: p.repo, branch: p.branch, sha: p.sha, auth: { token }, signal },
    async (release) => ({
      releaseId: release.id,
      upload: await target.upload(release, { signal, log: input.log }),
      checks: input.checks ?? (await checksInTree(deps, p.repo.fullName, release.dir)).checks,
    }),
  )
  await deps.store.updateDeployment(input.record, { releaseId })
  return { live: before.current, releaseId, upload, checks }
}
