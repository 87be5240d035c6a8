import type { Context } from 'probot'
import type { AppDeps } from '../app-deps.js'
import { prCommandTrigger } from '../triggers/pr-command.js'
import { enqueueTrigger } from './enqueue-trigger.js'

export const COMMENT_EVENTS = ['issue_comment.created'] as const

/** `issue_comment.created`: queue a command written on a pull request. */
export async function receiveComment(
  context: Context<'issue_comment.created'>,
  deps: Pick<AppDeps, 'queue'>,
): Promise<void> {
  const trigger = prCommandTrigger(context.payload)
  await enqueueTrigger(trigger, { id: context.id, event: context.name }, deps, context.log)
}
