import type { GitHubClient } from '../app-deps.js'
import type { DeployRepo, RepoName } from '../triggers/job-payloads.js'
import { repoRefFrom } from './repo-ref.js'

type ReposApi = Pick<GitHubClient['rest']['repos'], 'get'>

/** The repository's clone URL, web URL and default branch, from the payload or from GitHub. */
export async function completeRepo(
  github: { rest: { repos: ReposApi } },
  repo: DeployRepo | RepoName,
): Promise<DeployRepo> {
  if ('cloneUrl' in repo) return repo
  const { data } = await github.rest.repos.get({ owner: repo.owner, repo: repo.name })
  // The names stay as asked: they key the deploy's lock and records like the request's own.
  return { ...repoRefFrom(data), owner: repo.owner, name: repo.name, fullName: repo.fullName }
}
