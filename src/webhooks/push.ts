import type { Context } from 'probot'
import type { AppDeps } from '../app-deps.js'
import { pushIntakeTrigger } from '../triggers/push-intake.js'
import { enqueueTrigger } from './enqueue-trigger.js'

export const PUSH_EVENTS = ['push'] as const

/** `push`: queue an intake job for the manifests the push changed. */
export async function receivePush(context: Context<'push'>, deps: Pick<AppDeps, 'queue'>) {
  const trigger = pushIntakeTrigger(context.payload)
  await enqueueTrigger(trigger, { id: context.id, event: context.name }, deps, context.log)
}
