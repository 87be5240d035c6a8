import { commitChanges } from './commit-changes.js'
import { gitEnv, openGit } from './git-env.js'
import { GitError, toGitError } from './git-error.js'
import type { CommitIdentity, Workspace } from './types.js'

export type RevertResult =
  | { kind: 'reverted'; sha: string; subject: string }
  /** The branch already holds a revert of the commit (a retried job): nothing was made. */
  | { kind: 'already-reverted'; sha: string }
  /** The commit is not on the workspace's branch: there is nothing to revert there. */
  | { kind: 'not-on-branch' }

/**
 * Commits a revert of `sha` on the workspace's branch (`-m 1` for a merge commit, so the
 * branch goes back to what it was before the merge). Conflicting changes made after `sha`
 * stop it with a GitError that says so; the workspace is left without the half-done revert.
 */
export async function revertCommit(
  ws: Workspace,
  input: { sha: string; identity: CommitIdentity; reason: string },
): Promise<RevertResult> {
  const git = openGit(ws.dir, gitEnv(), ws.signal)
  const onBranch = await git.raw(['merge-base', '--is-ancestor', input.sha, 'HEAD']).then(
    () => true,
    () => false,
  )
  if (!onBranch) return { kind: 'not-on-branch' }
  // git revert's own message names the commit; a revert of it is found by that line.
  const marker = `This reverts commit ${input.sha}.`
  const found = (
    await git.raw([
      'log',
      '--format=%H',
      '--fixed-strings',
      `--grep=${marker}`,
      `${input.sha}..HEAD`,
    ])
  ).trim()
  if (found !== '') return { kind: 'already-reverted', sha: found.split('\n')[0] ?? found }
  const [, ...parents] = (await git.raw(['rev-list', '--parents', '-n', '1', input.sha]))
    .trim()
    .split(' ')
  const subject = (await git.raw(['log', '-n', '1', '--format=%s', input.sha])).trim()
  try {
    await git.raw(['revert', '--no-commit', ...(parents.length > 1 ? ['-m', '1'] : []), input.sha])
  } catch (error) {
    await git.raw(['revert', '--abort']).catch(() => undefined)
    const conflict = /conflict/i.test(error instanceof Error ? error.message : String(error))
    if (conflict) {
      throw new GitError(
        'commit-failed',
        ws.repo.fullName,
        `Could not revert ${input.sha.slice(0, 7)} on ${ws.branch}: commits made after it change ` +
          'the same lines. Revert it by hand (git revert -m 1 when it is a merge) and push.',
      )
    }
    throw toGitError(error, {
      code: 'commit-failed',
      repo: ws.repo.fullName,
      what: `revert ${input.sha} on ${ws.branch}`,
      hint: 'The job retries.',
      secrets: [],
      signal: ws.signal,
    })
  }
  const message = `Revert "${subject}"\n\n${marker}\n\n${input.reason}`
  const commit = await commitChanges(ws, { message, identity: input.identity })
  return { kind: 'reverted', sha: commit.sha, subject }
}
