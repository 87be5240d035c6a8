import type { Context } from 'probot'
import type { AppDeps } from '../app-deps.js'
import { deployOnPushTrigger } from '../triggers/deploy-on-push.js'
import { pushIntakeTrigger } from '../triggers/push-intake.js'
import { enqueueTrigger } from './enqueue-trigger.js'

export const PUSH_EVENTS = ['push'] as const

/**
 * `push`: queue an intake job for the manifests the push changed, and a deploy when it went to
 * the default branch. Each job records its own delivery key, so a redelivered push is
 * recognised for both.
 */
export async function receivePush(context: Context<'push'>, deps: Pick<AppDeps, 'queue'>) {
  const { id, name } = context
  await enqueueTrigger(pushIntakeTrigger(context.payload), { id, event: name }, deps, context.log)
  const deploy = deployOnPushTrigger(context.payload)
  await enqueueTrigger(deploy, { id: `${id}:deploy`, event: name }, deps, context.log)
}
