import type { GitHubClient } from '../app-deps.js'

type DeploymentsApi = Pick<
  GitHubClient['rest']['repos'],
  'createDeployment' | 'createDeploymentStatus'
>

export type DeploymentStatusState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive'

/** GitHub cuts deployment and status descriptions at 140 characters. */
const DESCRIPTION_LIMIT = 140

function short(text: string): string {
  return text.length <= DESCRIPTION_LIMIT ? text : `${text.slice(0, DESCRIPTION_LIMIT - 1)}…`
}

/**
 * Creates a GitHub deployment of `sha` to `environment` and returns its id. DevSys deploys
 * whatever commit it was asked to, so GitHub is told not to merge anything and not to wait for
 * commit statuses (DevSys's own checks are what gate a deploy).
 */
export async function createGitHubDeployment(
  github: { rest: { repos: DeploymentsApi } },
  input: {
    owner: string
    repo: string
    sha: string
    environment: string
    description: string
    /** Shown in GitHub's deployment payload; never secrets. */
    payload: Record<string, string | number | null>
  },
): Promise<number> {
  const { data } = await github.rest.repos.createDeployment({
    owner: input.owner,
    repo: input.repo,
    ref: input.sha,
    environment: input.environment,
    description: short(input.description),
    auto_merge: false,
    required_contexts: [],
    payload: input.payload,
    production_environment: input.environment === 'production',
    transient_environment: false,
  })
  // 202 means GitHub merged the default branch in first, which auto_merge: false rules out.
  if (!('id' in data)) throw new Error(`GitHub did not create a deployment: ${data.message}`)
  return data.id
}

/** Adds a status to a GitHub deployment (in_progress, then always a terminal one). */
export async function setDeploymentStatus(
  github: { rest: { repos: DeploymentsApi } },
  input: {
    owner: string
    repo: string
    deploymentId: number
    state: DeploymentStatusState
    description: string
    /** The live site, so GitHub shows "View deployment". */
    environmentUrl?: string | null
    /** Where people read what happened (a check run or comment). */
    logUrl?: string | null
  },
): Promise<void> {
  await github.rest.repos.createDeploymentStatus({
    owner: input.owner,
    repo: input.repo,
    deployment_id: input.deploymentId,
    state: input.state,
    description: short(input.description),
    ...(input.environmentUrl ? { environment_url: input.environmentUrl } : {}),
    ...(input.logUrl ? { log_url: input.logUrl } : {}),
    // DevSys marks the previous deployment inactive itself: GitHub's auto_inactive skips
    // production environments.
    auto_inactive: false,
  })
}
