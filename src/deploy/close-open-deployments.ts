import type { Logger } from 'pino'
import type { GitHubClient } from '../app-deps.js'
import { setDeploymentStatus } from '../report/deployment.js'
import type { Deployment, DeploymentStore } from '../store/store.js'
import type { DeployRepo } from '../triggers/job-payloads.js'

/**
 * Closes deployments a dead process left in progress, in the store and on GitHub: called by
 * the next holder of the environment's lock, and by a deploy job that failed for good.
 */
export async function closeOpenDeployments(
  github: GitHubClient,
  store: DeploymentStore,
  repo: Pick<DeployRepo, 'owner' | 'name' | 'fullName'>,
  filter: { environment?: string; jobId?: string },
  log: Logger,
): Promise<Deployment[]> {
  const open = await store.listDeployments({ repo: repo.fullName, state: 'in_progress', ...filter })
  for (const d of open) {
    const message =
      'DevSys stopped during this deploy (its process ended); the site kept serving a complete release'
    await store.updateDeployment(d.id, { state: 'error', error: message })
    if (d.githubDeploymentId === null) continue
    await setDeploymentStatus(github, {
      owner: repo.owner,
      repo: repo.name,
      deploymentId: d.githubDeploymentId,
      state: 'error',
      description: message,
    }).catch((error: unknown) => {
      log.warn({ err: error, deployment: d.id }, 'could not close a GitHub deployment left open')
    })
  }
  return open
}
