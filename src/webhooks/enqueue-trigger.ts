import type { Logger } from 'pino'
import type { AppDeps } from '../app-deps.js'
import type { EnqueueResult } from '../queue/queue.js'
import { QueueUnavailableError } from '../queue/queue-unavailable.js'
import type { Trigger } from '../triggers/types.js'

/**
 * How long a webhook waits for its job to be stored before it is answered 503: below Probot's
 * 9 s webhook timeout, after which Probot answers 202 whatever happens next, so a delivery a
 * hung database never stored would count as received.
 */
export const ENQUEUE_TIMEOUT_MS = 8_000

/**
 * Stores what a webhook asks for and returns: the delivery id and the job are written in one
 * transaction, so a redelivered webhook is recognised and nothing slow happens before GitHub
 * gets its answer. A queue that is unavailable, or does not answer in ENQUEUE_TIMEOUT_MS, gets
 * the webhook answered 503 (WebhookUnavailableError).
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
  let result: EnqueueResult
  try {
    result = await withinTime(deps.queue.enqueue(trigger.job, { delivery }), delivery, log)
  } catch (error) {
    if (!(error instanceof QueueUnavailableError)) throw error
    log.warn(
      { delivery: delivery.id, event: delivery.event, reason: error.reason },
      'event not stored: the queue is unavailable; answering 503',
    )
    throw new WebhookUnavailableError(delivery, error)
  }
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

/**
 * The enqueue, or QueueUnavailableError once ENQUEUE_TIMEOUT_MS passed. Should the enqueue
 * commit after that, the delivery is stored though answered 503: its redelivery is then
 * recognised and writes nothing, so it still runs once.
 */
function withinTime(
  enqueuing: Promise<EnqueueResult>,
  delivery: { id: string },
  log: Logger,
): Promise<EnqueueResult> {
  let timedOut = false
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true
      reject(new QueueUnavailableError(`no answer within ${ENQUEUE_TIMEOUT_MS / 1000} s`))
    }, ENQUEUE_TIMEOUT_MS)
  })
  enqueuing.then(
    (late) => {
      if (timedOut)
        log.warn({ delivery: delivery.id, result: late.kind }, 'event stored after its 503 answer')
    },
    () => undefined, // answered by the race below
  )
  return Promise.race([enqueuing, timeout]).finally(() => clearTimeout(timer))
}

/**
 * The answer to a delivery that could not be stored because the queue's database is down: 503
 * (Probot's webhook middleware answers an error's `status`), so the delivery counts as failed
 * and is sent again, never as received and then lost.
 */
export class WebhookUnavailableError extends Error {
  override readonly name = 'ServiceUnavailable'
  readonly status = 503
  constructor(delivery: { id: string; event: string }, cause: QueueUnavailableError) {
    super(
      `DevSys could not store delivery ${delivery.id} (${delivery.event}): ${cause.message}. Nothing was stored; redeliver it once the database is back (DevSys's redelivery scan does so by itself).`,
      { cause },
    )
  }
}
