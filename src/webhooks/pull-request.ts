import type { Context } from 'probot'
import type { AppDeps } from '../app-deps.js'
import { prPushTrigger } from '../triggers/test-triggers.js'
import { enqueueTrigger } from './enqueue-trigger.js'

export const PULL_REQUEST_EVENTS = ['pull_request.synchronize'] as const

/** `pull_request.synchronize`: new commits on a task's PR are tested. */
export async function receivePullRequestPush(
  context: Context<'pull_request.synchronize'>,
  deps: Pick<AppDeps, 'queue'>,
): Promise<void> {
  const trigger = prPushTrigger(context.payload)
  await enqueueTrigger(trigger, { id: context.id, event: context.name }, deps, context.log)
}
