import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { GitError } from '../git/git-error.js'
import type { GitAuth, GitRepo } from '../git/types.js'
import type { Release } from './types.js'

/**
 * Runs `fn` with the files of commit `sha` as a release named after the commit's tree, in a
 * temporary clone (the release's `.git` is never deployed). `branch` is where the commit is
 * found: the default branch for a merge, the PR's branch for `/deploy`.
 */
export async function withRelease<T>(
  git: GitWorkspaces,
  input: {
    repo: GitRepo
    branch: string
    sha: string
    auth: GitAuth | undefined
    signal: AbortSignal
  },
  fn: (release: Release) => Promise<T>,
): Promise<T> {
  const { repo, branch, sha } = input
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(sha)) {
    throw new Error(`Not a commit id: ${JSON.stringify(sha)}`)
  }
  return git.withWorkspace(
    repo,
    branch,
    input.auth,
    async (ws) => {
      try {
        await ws.git.raw(['checkout', '--detach', sha])
      } catch {
        throw new GitError(
          'fetch-failed',
          repo.fullName,
          `Commit ${sha.slice(0, 7)} is not on ${branch} of ${repo.fullName} (was the branch force-pushed?); nothing was deployed.`,
        )
      }
      const tree = (await ws.git.raw(['rev-parse', `${sha}^{tree}`])).trim()
      return fn({ id: tree, dir: ws.dir })
    },
    input.signal,
  )
}
