import type { Logger } from 'pino'
import type { GitHubClient } from '../../app-deps.js'
import { setDeploymentStatus } from '../../report/deployment.js'
import { formatDeployed } from '../../report/format-deploy.js'
import type { DeploymentStore } from '../../store/store.js'
import type { DeployRepo } from '../../triggers/job-payloads.js'
import type { DeployTarget } from '../types.js'
import type { LockedWork } from '../with-environment-lock.js'
import type { RecordedDeploy, ResolvedDeploy } from './types.js'
import type { Uploaded } from './upload.js'
import { type Verification, verificationRecord } from './verify.js'

/**
 * Settle: the release is live and passed (or had no checks): the record says so. GitHub's
 * deployment goes to success and the one live before it to inactive, and the PR hears of it,
 * once the lock is free again.
 */
export async function settle(
  github: GitHubClient,
  store: DeploymentStore,
  p: ResolvedDeploy,
  run: RecordedDeploy & {
    target: Pick<DeployTarget, 'url'>
    uploaded: Uploaded
    verification: Verification
  },
): Promise<LockedWork> {
  const { environment, record, verification } = run
  const { releaseId, upload } = run.uploaded
  const url = run.target.url
  await store.updateDeployment(record, {
    state: 'success',
    verification: verificationRecord(verification),
    ...(url === null ? {} : { url }),
  })
  const report = async () => {
    await run.status('success', `Live in ${environment}`, url)
    await inactivatePrevious(github, store, p.repo, environment, record, run.log)
    const body = { environment, sha: p.sha, releaseId, url, upload, verification }
    await run.answer(formatDeployed(body), 'rocket')
  }
  return {
    outcome: {
      status: 'done',
      summary: `${p.sha.slice(0, 7)} live in ${environment}`,
      details: { deployment: record, releaseId, ...upload },
    },
    report,
  }
}

/** The deployment that was live before `current` goes inactive on GitHub. */
async function inactivatePrevious(
  github: GitHubClient,
  store: DeploymentStore,
  repo: DeployRepo,
  environment: string,
  current: number,
  log: Logger,
) {
  const [previous] = (
    await store.listDeployments({ repo: repo.fullName, environment, state: 'success', limit: 2 })
  ).filter((d) => d.id !== current)
  if (previous?.githubDeploymentId == null) return
  await setDeploymentStatus(github, {
    owner: repo.owner,
    repo: repo.name,
    deploymentId: previous.githubDeploymentId,
    state: 'inactive',
    description: `Replaced by a newer deploy to ${environment}`,
  }).catch((error: unknown) => {
    log.warn(
      { err: error, deployment: previous.id },
      'could not mark the previous GitHub deployment inactive',
    )
  })
}
