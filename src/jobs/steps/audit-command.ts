import type { AuditStore } from '../../store/store.js'
import { taskSubject } from '../../store/store.js'
import type { PrCommandPayload } from '../../triggers/pr-command.js'

/**
 * Writes the audit record of a comment command that changes something (/deploy, /rollback,
 * /test, /revise): who commented, what they asked, on which task and environment, and whether
 * DevSys took it ('accepted') or refused it ('refused', with the reason code). The same record
 * shape as an API request's, with `via: 'github-comment'`.
 */
export async function auditCommand(
  store: Pick<AuditStore, 'audit'>,
  payload: PrCommandPayload,
  event: {
    action: string
    task: string | null
    environment?: string | null
    result: 'accepted' | 'refused'
    details?: Record<string, unknown>
  },
): Promise<void> {
  const repo = payload.repo.fullName
  await store.audit({
    actor: payload.commenter,
    via: 'github-comment',
    action: event.action,
    subject:
      event.task === null ? `pr:${repo}#${payload.pr}` : taskSubject({ repo, id: event.task }),
    target: { repo, task: event.task, environment: event.environment ?? null },
    // GitHub's comment id names the request: a replayed delivery of it is the same request.
    requestId: `comment:${payload.commentId}`,
    result: event.result,
    details: { pr: payload.pr, commentId: payload.commentId, ...event.details },
  })
}
