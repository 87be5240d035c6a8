import type { Context } from 'probot'
import type { AppDeps } from '../app-deps.js'
import { issueIntakeTrigger } from '../triggers/issue-intake.js'
import { enqueueTrigger } from './enqueue-trigger.js'

/** Events that may carry a manifest in an issue body. */
export const ISSUE_INTAKE_EVENTS = ['issues.opened', 'issues.edited', 'issues.labeled'] as const

/** `issues.opened|edited|labeled`: queue an intake job for the issue. */
export async function receiveIssue(
  context: Context<(typeof ISSUE_INTAKE_EVENTS)[number]>,
  deps: Pick<AppDeps, 'queue'>,
): Promise<void> {
  const trigger = issueIntakeTrigger(context.payload)
  await enqueueTrigger(trigger, { id: context.id, event: context.name }, deps, context.log)
}
