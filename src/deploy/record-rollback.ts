import type { Logger } from 'pino'
import type { GitHubClient } from '../app-deps.js'
import { createGitHubDeployment, setDeploymentStatus } from '../report/deployment.js'
import type { DeploymentStore } from '../store/store.js'
import type { RollbackPayload } from '../triggers/job-payloads.js'

/**
 * After `/rollback` switched back (and the lock is free again): the restored commit becomes
 * GitHub's live deployment and the rolled-back one goes inactive. Best effort: the switch is
 * done and in the store's history already.
 */
export async function recordRollbackOnGitHub(
  github: GitHubClient,
  store: DeploymentStore,
  p: Pick<RollbackPayload, 'repo' | 'actor'>,
  environment: string,
  record: number,
  sha: string,
  rolledBack: number | null,
  url: string | null,
  log: Logger,
): Promise<void> {
  const owner = p.repo.owner
  const repo = p.repo.name
  try {
    const id = await createGitHubDeployment(github, {
      owner,
      repo,
      sha,
      environment,
      description: `DevSys rollback for @${p.actor}`,
      payload: { deployment: record, task: null, trigger: 'rollback' },
    })
    await store.updateDeployment(record, {
      githubDeploymentId: id,
      ...(url === null ? {} : { url }),
    })
    await setDeploymentStatus(github, {
      owner,
      repo,
      deploymentId: id,
      state: 'success',
      description: `Rolled back ${environment}`,
      environmentUrl: url,
    })
    if (rolledBack !== null) {
      await setDeploymentStatus(github, {
        owner,
        repo,
        deploymentId: rolledBack,
        state: 'inactive',
        description: `Rolled back by @${p.actor}`,
      })
    }
  } catch (error) {
    // The switch is done and recorded; GitHub's view catches up with the next deploy.
    log.warn({ err: error }, 'the rollback could not be recorded on GitHub')
  }
}
