import type { Context } from 'probot'
import type { AppDeps } from '../app-deps.js'
import { checkRerunTrigger } from '../triggers/test-triggers.js'
import { enqueueTrigger } from './enqueue-trigger.js'

export const CHECK_RUN_EVENTS = ['check_run.rerequested'] as const

/** `check_run.rerequested`: someone pressed "Re-run" on DevSys's tests check. */
export async function receiveCheckRerun(
  context: Context<'check_run.rerequested'>,
  deps: Pick<AppDeps, 'queue'>,
): Promise<void> {
  const trigger = checkRerunTrigger(context.payload)
  await enqueueTrigger(trigger, { id: context.id, event: context.name }, deps, context.log)
}
