import type { Enqueue } from '../queue/queue.js'
import type { NotificationEvent, Notifier } from './events.js'

/** The job kind that routes an event to its destinations and delivers it. */
export const NOTIFY_JOB = 'notify'

export interface NotifyPayload {
  event: NotificationEvent
  /** The delivery attempt this job makes (1 when published; the job queues the next). */
  attempt?: number
}

/**
 * The Notifier over the queue: publishing enqueues one `notify` job per event, recorded under
 * the delivery id `notify:<event id>`, so the same state change published again (a retried or
 * redelivered job) writes nothing and is delivered once.
 */
export function queueNotifier(enqueue: Enqueue): Notifier {
  return {
    async publish(event) {
      const payload: NotifyPayload = { event }
      await enqueue(
        { kind: NOTIFY_JOB, key: `notify:${event.id}`, payload },
        { delivery: { id: `notify:${event.id}`, event: 'notification' } },
      )
    },
  }
}
