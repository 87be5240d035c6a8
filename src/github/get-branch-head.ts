import type { GitHubClient } from '../app-deps.js'

type ReposApi = Pick<GitHubClient['rest']['repos'], 'getBranch'>

/** The commit a branch points at now; null when the branch does not exist (any more). */
export async function getBranchHead(
  github: { rest: { repos: ReposApi } },
  target: { owner: string; repo: string; branch: string },
): Promise<string | null> {
  try {
    const { data } = await github.rest.repos.getBranch(target)
    return data.commit.sha
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'status' in error && error.status === 404) {
      return null
    }
    throw error
  }
}
