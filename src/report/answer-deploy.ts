import type { GitHubClient } from '../app-deps.js'
import type { CommentStore, Task } from '../store/store.js'
import { DEPLOY_COMMENT } from './comment-kinds.js'
import { replyOn } from './reply.js'

/**
 * Tells people how a deploy went: on the `/deploy` comment's PR, or for merges on the task's
 * PR. API requests are answered through the deploy history.
 */
export async function answerDeploy(
  github: GitHubClient,
  deps: { store: Pick<CommentStore, 'getCommentId' | 'setCommentId'> },
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
  const reply = replyOn(github, deps.store, {
    owner: p.repo.owner,
    repo: p.repo.name,
    issue: pr,
    kind,
    asker: p.command === undefined ? undefined : { commentId: p.command.commentId },
  })
  await reply.say(body)
  if (reaction !== null) await reply.react(reaction)
}
