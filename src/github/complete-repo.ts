import type { GitHubClient } from '../app-deps.js'
import type { DeployRepo, RepoName } from '../triggers/job-payloads.js'

type ReposApi = Pick<GitHubClient['rest']['repos'], 'get'>

/** The repository's clone URL, web URL and default branch, from the payload or from GitHub. */
export async function completeRepo(
  github: { rest: { repos: ReposApi } },
  repo: DeployRepo | RepoName,
): Promise<DeployRepo> {
  if ('cloneUrl' in repo) return repo
  const { data } = await github.rest.repos.get({ owner: repo.owner, repo: repo.name })
  return {
    ...repo,
    cloneUrl: data.clone_url,
    htmlUrl: data.html_url,
    defaultBranch: data.default_branch,
  }
}
