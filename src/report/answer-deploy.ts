import type { GitHubClient } from '../app-deps.js'
import type { Store, Task } from '../store/store.js'
import { reactToComment } from './reaction.js'
import { upsertStickyComment } from './sticky-comment.js'

/** Sticky comment kind for deploy results on a PR. */
export const DEPLOY_COMMENT = 'deploy'
/**
 * Sticky comment kind for rollback answers: their own place, so rolling back never replaces the
 * result of the deploy it takes out (people read both, side by side).
 */
export const ROLLBACK_COMMENT = 'rollback'
/**
 * Sticky comment kind for "the environment is busy" refusals: their own place, so a refusal
 * never replaces the result of the deploy that held the lock.
 */
export const DEPLOY_BUSY_COMMENT = 'deploy-busy'

/**
 * Tells people how a deploy went: on the `/deploy` comment's PR, or for merges on the task's
 * PR. API requests are answered through the deploy history.
 */
export async function answerDeploy(
  github: GitHubClient,
  deps: { store: Pick<Store, 'getCommentId' | 'setCommentId'> },
  p: {
    repo: { owner: string; name: string }
    command?: { pr: number; commentId: number } | undefined
  },
  task: Task | undefined | null,
  body: string,
  reaction: 'rocket' | 'confused' | null,
  /** Which of DevSys's sticky comments on the PR (a revert and a busy refusal have their own). */
  kind = DEPLOY_COMMENT,
): Promise<void> {
  const pr = p.command?.pr ?? task?.code?.pullRequest?.number
  if (pr === undefined) return
  await upsertStickyComment(github, deps.store, {
    owner: p.repo.owner,
    repo: p.repo.name,
    issue: pr,
    kind,
    body,
  })
  if (reaction !== null && p.command !== undefined) {
    await reactToComment(github, {
      owner: p.repo.owner,
      repo: p.repo.name,
      commentId: p.command.commentId,
      content: reaction,
    })
  }
}
