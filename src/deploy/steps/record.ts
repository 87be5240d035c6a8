import type { GitHubClient } from '../../app-deps.js'
import { createGitHubDeployment, setDeploymentStatus } from '../../report/deployment.js'
import type { DeploymentStore } from '../../store/store.js'
import type { ResolvedDeploy, SetStatus } from './types.js'

/**
 * Record: the deploy's row in the store's history and its GitHub deployment, marked in
 * progress. Returns the row's id and how to set the GitHub deployment's status from here on.
 */
export async function recordDeploy(
  github: GitHubClient,
  store: DeploymentStore,
  p: ResolvedDeploy,
  input: { environment: string; taskId: string | null; jobId: string },
): Promise<{ record: number; status: SetStatus }> {
  const { environment, taskId } = input
  const owner = p.repo.owner
  const repo = p.repo.name
  const created = await store.createDeployment({
    repo: p.repo.fullName,
    environment,
    taskId,
    trigger: p.trigger,
    actor: p.actor,
    commitSha: p.sha,
    ref: p.branch,
    jobId: input.jobId,
  })
  const githubId = await createGitHubDeployment(github, {
    owner,
    repo,
    sha: p.sha,
    environment,
    description: `DevSys deploy of ${p.sha.slice(0, 7)} for @${p.actor}`,
    payload: { deployment: created.id, task: taskId, trigger: p.trigger },
  })
  await store.updateDeployment(created.id, { githubDeploymentId: githubId })
  const status: SetStatus = (state, description, url) =>
    setDeploymentStatus(github, {
      owner,
      repo,
      deploymentId: githubId,
      state,
      description,
      environmentUrl: url ?? null,
    })
  await status('in_progress', `Deploying ${p.sha.slice(0, 7)} to ${environment}`)
  return { record: created.id, status }
}
