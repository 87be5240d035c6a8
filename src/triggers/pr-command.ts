import type { Context } from 'probot'
import { type RepoRef, repoRefFrom } from '../github/repo-ref.js'
import { type ParsedComment, parseCommand } from './parse-command.js'
import type { Trigger } from './types.js'

type CommentPayload = Context<'issue_comment.created'>['payload']

/** Payload of a `pr-command` job: a command comment on a pull request and where it was made. */
export interface PrCommandPayload {
  installationId: number
  repo: RepoRef
  pr: number
  commentId: number
  commenter: string
  commenterId: number
  parsed: Exclude<ParsedComment, { kind: 'none' }>
}

/**
 * Decides whether a new comment is a DevSys command on a pull request. Bots (DevSys itself
 * among them) never issue commands, so DevSys cannot loop on its own comments.
 */
export function prCommandTrigger(payload: CommentPayload): Trigger {
  const installationId = payload.installation?.id
  if (installationId === undefined) return { kind: 'ignore', reason: 'no-installation' }
  if (!payload.issue.pull_request) return { kind: 'ignore', reason: 'not-a-pull-request' }
  if (payload.comment.user?.type === 'Bot' || payload.sender.type === 'Bot') {
    return { kind: 'ignore', reason: 'from-a-bot' }
  }
  const parsed = parseCommand(payload.comment.body)
  if (parsed.kind === 'none') return { kind: 'ignore', reason: 'not-a-command' }
  const { repository } = payload
  const job: PrCommandPayload = {
    installationId,
    repo: repoRefFrom(repository),
    pr: payload.issue.number,
    commentId: payload.comment.id,
    commenter: payload.sender.login,
    commenterId: payload.sender.id,
    parsed,
  }
  // One key per comment: every command is answered; the work it starts is serialized per task.
  return {
    kind: 'job',
    job: {
      kind: 'pr-command',
      key: `command:${repository.full_name}#${payload.issue.number}:${payload.comment.id}`,
      payload: job,
    },
  }
}
