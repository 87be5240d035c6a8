import type { Logger } from 'pino'
import type { AppDeps } from '../app-deps.js'
import type { Trigger } from '../triggers/types.js'

/**
 * Stores what a webhook asks for and returns: the delivery id and the job are written in one
 * transaction, so a redelivered webhook is recognised and nothing slow happens before GitHub
 * gets its answer.
 */
export async function enqueueTrigger(
  trigger: Trigger,
  delivery: { id: string; event: string },
  deps: Pick<AppDeps, 'queue'>,
  log: Logger,
): Promise<void> {
  if (trigger.kind === 'ignore') {
    log.debug({ delivery: delivery.id, reason: trigger.reason }, 'event ignored')
    return
  }
  const result = await deps.queue.enqueue(trigger.job, { delivery })
  const job = result.kind === 'duplicate-delivery' ? undefined : result.job.id
  log.info(
    {
      delivery: delivery.id,
      event: delivery.event,
      job,
      key: trigger.job.key,
      result: result.kind,
    },
    'event queued',
  )
}
