import type { GitHubClient } from '../app-deps.js'

export type ReactionContent =
  | '+1'
  | '-1'
  | 'laugh'
  | 'confused'
  | 'heart'
  | 'hooray'
  | 'rocket'
  | 'eyes'

/** Reacts to an issue (or PR) body. GitHub ignores a reaction the app already gave. */
export async function reactToIssue(
  github: { rest: { reactions: Pick<GitHubClient['rest']['reactions'], 'createForIssue'> } },
  target: { owner: string; repo: string; issue: number; content: ReactionContent },
): Promise<void> {
  await github.rest.reactions.createForIssue({
    owner: target.owner,
    repo: target.repo,
    issue_number: target.issue,
    content: target.content,
  })
}

/** Reacts to an issue or PR comment (a command), e.g. 👀 when starting and 🚀 when done. */
export async function reactToComment(
  github: {
    rest: { reactions: Pick<GitHubClient['rest']['reactions'], 'createForIssueComment'> }
  },
  target: { owner: string; repo: string; commentId: number; content: ReactionContent },
): Promise<void> {
  await github.rest.reactions.createForIssueComment({
    owner: target.owner,
    repo: target.repo,
    comment_id: target.commentId,
    content: target.content,
  })
}
