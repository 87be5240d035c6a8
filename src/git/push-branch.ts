import { authEnv, authSecrets, gitEnv, openGit } from './git-env.js'
import { GitError, toGitError } from './git-error.js'
import type { GitAuth, Workspace } from './types.js'

/**
 * Pushes the workspace's branch to GitHub as a fast-forward, never forcing: if the branch moved
 * on GitHub since the workspace was made, the push is refused with a 'push-rejected' GitError and
 * GitHub's branch is left exactly as it was.
 */
export async function pushBranch(ws: Workspace, auth: GitAuth | undefined): Promise<void> {
  const { repo, branch } = ws
  const secrets = authSecrets(auth)
  const local = openGit(ws.dir, gitEnv(), ws.signal)
  if (ws.branchExisted) {
    // A rewritten local history would also be refused as a non-fast-forward; say so precisely
    // instead of blaming GitHub.
    const kept = await local.raw(['merge-base', '--is-ancestor', ws.baseSha, 'HEAD']).then(
      () => true,
      () => false,
    )
    if (!kept) {
      throw new GitError(
        'push-failed',
        repo.fullName,
        `Did not push ${branch} to ${repo.fullName}: the new commits do not build on ${ws.baseSha}, ` +
          'the tip of the branch on GitHub, and DevSys never force-pushes. This is a bug in the step ' +
          'that changed the branch; report it.',
      )
    }
  }
  const git = openGit(ws.dir, gitEnv(authEnv(repo.cloneUrl, auth)), ws.signal)
  const ref = `refs/heads/${branch}`
  try {
    // --no-verify: no pre-push hook sees the environment, which holds the token.
    await git.raw(['push', '--porcelain', '--no-verify', 'origin', `${ref}:${ref}`])
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    const rejected = /\[rejected\]|non-fast-forward|fetch first|\(stale info\)/.test(text)
    if (rejected && !ws.signal?.aborted) {
      throw new GitError(
        'push-rejected',
        repo.fullName,
        `Did not push ${branch} to ${repo.fullName}: the branch ${branch} changed on GitHub since ` +
          'DevSys started this job (someone pushed to it), and DevSys never overwrites commits. ' +
          `Nothing was changed on GitHub. The job retries from the new tip; to start over instead, ` +
          `delete the branch ${branch} on GitHub and run DevSys again.`,
      )
    }
    throw toGitError(error, {
      code: 'push-failed',
      repo: repo.fullName,
      what: `push ${branch} to ${repo.fullName} (${repo.cloneUrl})`,
      hint:
        `Check that the DevSys app is installed on ${repo.fullName} with write access to contents ` +
        'and that no branch protection rule covers this branch; the job retries.',
      secrets,
      signal: ws.signal,
    })
  }
  ws.log.info({ branch }, 'pushed')
}
