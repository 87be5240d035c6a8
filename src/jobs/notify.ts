import type { Enqueue, GitHubAuth } from '../app-deps.js'
import { fetchRepoConfig } from '../config/fetch-repo-config.js'
import type { NotificationSubscription } from '../config/load-repo-config.js'
import type { Destination } from '../config/notify-destinations.js'
import type { Channels } from '../notify/channels.js'
import { deliverEvent } from '../notify/deliver-event.js'
import type { NotificationEvent } from '../notify/events.js'
import { NOTIFY_JOB, type NotifyPayload } from '../notify/queue-notifier.js'
import { routeEvent } from '../notify/route-event.js'
import { type Backoff, backoffDelay } from '../queue/backoff.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import type { NotificationStore } from '../store/store.js'

export interface NotifyDeps {
  store: NotificationStore
  auth: GitHubAuth
  channels: Channels
  /** The server's destinations (NOTIFY_*). */
  destinations: readonly Destination[]
  /** Queues the next attempt, delayed. */
  enqueue: Enqueue
  /** Attempts per event and the backoff between them (default NOTIFY_RETRY). */
  retry?: Backoff & { attempts: number }
}

/**
 * A receiver that is down gets time to come back: 10 attempts, the waits doubling from 10 s
 * (10 s, 20 s, 40 s … 43 min, each cut by up to half at random), so the last attempt comes
 * 45 to 85 minutes after the first; far longer than the queue's retries of a crashed job.
 */
export const NOTIFY_RETRY = { baseMs: 10_000, maxMs: 3_600_000, attempts: 10 }

/**
 * The `notify` job: sends one event to the destinations its repository subscribes it to, each
 * once. When a destination should be tried again, the job queues its next attempt, delayed with
 * exponential backoff and jitter (`retry`); destinations already delivered are never sent to
 * again, whoever runs the next attempt.
 */
export function createNotifyJob(deps: NotifyDeps): JobHandler<NotifyPayload> {
  return {
    kind: NOTIFY_JOB,
    async run(payload, ctx) {
      const { event } = payload
      // 1. Which destinations: the repository's subscriptions, among the server's destinations.
      const routed = await subscribedDestinations(deps, event)
      if ('skip' in routed) return routed.skip
      for (const name of routed.unknown) {
        ctx.log.warn(
          { event: event.id, destination: name },
          `a subscription names destination '${name}', which this DevSys server does not configure (NOTIFY_*)`,
        )
      }
      if (routed.destinations.length === 0) {
        return {
          status: 'skipped',
          reason: 'no-subscription',
          summary: `no destination for ${event.type}`,
        }
      }
      // 2. Deliver to each destination not delivered yet; try the rest again later.
      const retry = deps.retry ?? NOTIFY_RETRY
      const attempt = payload.attempt ?? 1
      const summary = await deliverEvent(
        { store: deps.store, channels: deps.channels, log: ctx.log },
        event,
        routed.destinations,
        { last: attempt >= retry.attempts, signal: ctx.signal },
      )
      if (summary.retrying.length > 0) {
        const delayMs = backoffDelay(attempt, retry)
        const next: NotifyPayload = { event, attempt: attempt + 1 }
        await deps.enqueue({ kind: NOTIFY_JOB, key: ctx.job.key, payload: next, delayMs })
        const waiting = summary.retrying.join(', ')
        return {
          status: 'done',
          summary: `${event.type}: attempt ${attempt + 1} for ${waiting} in ${Math.round(delayMs / 1000)} s`,
          details: { ...summary },
        }
      }
      const counts = `${event.type}: delivered to ${summary.delivered.length} destination(s)`
      if (summary.failed.length > 0) {
        const failed = `${counts}; failed for ${summary.failed.join(', ')} (see GET /api/notifications)`
        return { status: 'rejected', reason: 'not-delivered', summary: failed }
      }
      return { status: 'done', summary: counts, details: { ...summary } }
    },
    async onFailed({ event }) {
      // A retry that never comes (attempts spent, or a crash): what is still open has failed.
      for (const row of await deps.store.listNotifications({ eventId: event.id })) {
        if (row.status === 'pending' || row.status === 'retrying') {
          await deps.store.updateNotification(row.id, {
            status: 'failed',
            attempted: false,
            error: row.lastError ?? 'DevSys gave up on this delivery',
          })
        }
      }
    },
  }
}

type Routed = { skip: Outcome } | { destinations: Destination[]; unknown: string[] }

async function subscribedDestinations(deps: NotifyDeps, event: NotificationEvent): Promise<Routed> {
  if (deps.destinations.length === 0) {
    return {
      skip: {
        status: 'skipped',
        reason: 'no-destinations',
        summary: 'no destination is configured',
      },
    }
  }
  if (event.repo === null || event.installationId === null) {
    return {
      skip: { status: 'skipped', reason: 'no-repository', summary: 'the event has no repository' },
    }
  }
  const [owner = '', repo = ''] = event.repo.split('/')
  const github = await deps.auth(event.installationId)
  const loaded = await fetchRepoConfig(github, { owner, repo })
  if (!loaded.ok) {
    return {
      skip: { status: 'skipped', reason: 'invalid-repo-config', summary: 'repo config is invalid' },
    }
  }
  const subscriptions: NotificationSubscription[] = loaded.config.notifications
  const names = routeEvent(event, subscriptions)
  return {
    destinations: deps.destinations.filter((d) => names.includes(d.name)),
    unknown: names.filter((name) => !deps.destinations.some((d) => d.name === name)),
  }
}
