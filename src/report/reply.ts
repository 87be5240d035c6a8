import type { GitHubClient } from '../app-deps.js'
import type { CommentStore } from '../store/store.js'
import { formatStopComment } from './format-intake.js'
import { type ReactionContent, reactToComment, reactToIssue } from './reaction.js'
import { upsertStickyComment } from './sticky-comment.js'

type ReplyClient = {
  rest: {
    issues: Pick<GitHubClient['rest']['issues'], 'createComment' | 'updateComment'>
    reactions: Pick<GitHubClient['rest']['reactions'], 'createForIssue' | 'createForIssueComment'>
  }
}

/** Where a job answers: its sticky comment of `kind` on an issue or PR, and what asked. */
export interface ReplyTarget {
  owner: string
  repo: string
  /** The issue or PR the answer goes on; undefined when there is nowhere to answer. */
  issue: number | undefined
  /** Which of DevSys's sticky comments (src/report/comment-kinds.ts). */
  kind: string
  /** What reactions go on: the comment that asked (a command), or the issue itself. */
  asker?: { commentId: number } | { issue: number } | undefined
}

/** How a job tells people what happened: one per job run, made by replyOn. */
export interface Reply {
  /** Writes (or rewrites) the job's sticky comment. */
  say(body: string): Promise<void>
  /** Reacts to what asked; nothing when nothing did (e.g. a generation started by intake). */
  react(content: ReactionContent): Promise<void>
  /** Says why DevSys stopped (a titled stop comment) and reacts 😕 to what asked. */
  stop(title: string, message: string): Promise<void>
}

/** The one way jobs answer people: a sticky comment of one kind, and reactions on what asked. */
export function replyOn(
  github: ReplyClient,
  store: Pick<CommentStore, 'getCommentId' | 'setCommentId'>,
  target: ReplyTarget,
): Reply {
  const { owner, repo, issue, kind, asker } = target
  const reply: Reply = {
    async say(body) {
      if (issue === undefined) return
      await upsertStickyComment(github, store, { owner, repo, issue, kind, body })
    },
    async react(content) {
      if (asker === undefined) return
      if ('commentId' in asker) {
        await reactToComment(github, { owner, repo, commentId: asker.commentId, content })
      } else {
        await reactToIssue(github, { owner, repo, issue: asker.issue, content })
      }
    },
    async stop(title, message) {
      await reply.say(formatStopComment(title, message))
      await reply.react('confused')
    },
  }
  return reply
}
