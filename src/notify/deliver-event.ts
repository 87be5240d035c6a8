import type { Logger } from 'pino'
import { type Destination, destinationFingerprint } from '../config/notify-destinations.js'
import type { NotificationDelivery, NotificationStatus } from '../store/notification-records.js'
import type { NotificationStore } from '../store/store.js'
import type { Channels } from './channels.js'
import type { NotificationEvent } from './events.js'

export interface DeliverDeps {
  store: NotificationStore
  channels: Channels
  log: Logger
}

/** Where each destination's delivery of the event stands after this attempt. */
export type DeliverySummary = Record<Exclude<NotificationStatus, 'pending'>, string[]>

const SETTLED: readonly NotificationStatus[] = ['delivered', 'failed', 'disabled']

/**
 * Sends `event` to each destination whose delivery is not settled yet: the store's row per
 * (event, destination) is claimed first, so a destination already delivered (by an earlier
 * attempt, a retried job, another worker) is never sent to again. A receiver's 410 disables
 * its destination. `last`: no attempt follows, so a failure that could be retried is final.
 */
export async function deliverEvent(
  deps: DeliverDeps,
  event: NotificationEvent,
  destinations: readonly Destination[],
  opts: { last: boolean; signal?: AbortSignal },
): Promise<DeliverySummary> {
  const summary: DeliverySummary = { delivered: [], retrying: [], failed: [], disabled: [] }
  for (const destination of destinations) {
    const claimed = await deps.store.claimNotification({
      eventId: event.id,
      eventType: event.type,
      repo: event.repo,
      destination: destination.name,
      channel: destination.channel,
    })
    const status = SETTLED.includes(claimed.status)
      ? claimed.status
      : await attempt(deps, event, destination, claimed, opts)
    if (status !== 'pending') summary[status].push(destination.name)
  }
  return summary
}

async function attempt(
  deps: DeliverDeps,
  event: NotificationEvent,
  destination: Destination,
  claimed: NotificationDelivery,
  opts: { last: boolean; signal?: AbortSignal },
): Promise<NotificationStatus> {
  const fingerprint = destinationFingerprint(destination)
  const disabled = await deps.store.disabledDestination(destination.name, fingerprint)
  if (disabled) {
    await deps.store.updateNotification(claimed.id, {
      status: 'disabled',
      attempted: false,
      error: `destination disabled at ${disabled.disabledAt}: ${disabled.reason}`,
    })
    return 'disabled'
  }
  const result = await deps.channels.send(destination, event, opts.signal)
  const log = deps.log.child({ event: event.id, destination: destination.name })
  switch (result.kind) {
    case 'delivered':
      await deps.store.updateNotification(claimed.id, { status: 'delivered' })
      log.info('notification delivered')
      return 'delivered'
    case 'gone':
      await deps.store.disableDestination(destination.name, fingerprint, result.error)
      await deps.store.updateNotification(claimed.id, { status: 'disabled', error: result.error })
      log.warn(
        { reason: result.error },
        'notification destination disabled: its receiver says it is gone; change its settings or send a test (POST /api/notifications/test) to enable it again',
      )
      return 'disabled'
    case 'failed':
    case 'retry': {
      const status = result.kind === 'retry' && !opts.last ? 'retrying' : 'failed'
      await deps.store.updateNotification(claimed.id, { status, error: result.error })
      log.warn({ reason: result.error, status }, 'notification not delivered')
      return status
    }
  }
}

/** One destination's answer to a test event, as the manager API shows it. */
export interface TestResult {
  destination: string
  channel: string
  status: 'delivered' | 'failed' | 'disabled'
  error: string | null
  /** A destination disabled before that accepted the test is enabled again. */
  enabled?: true
}

/**
 * Sends a test event to every destination once, also to disabled ones (one that accepts it is
 * enabled again), records each delivery, and says what happened.
 */
export async function sendTestEvent(
  deps: DeliverDeps,
  event: NotificationEvent,
  destinations: readonly Destination[],
): Promise<TestResult[]> {
  const results: TestResult[] = []
  for (const destination of destinations) {
    const claimed = await deps.store.claimNotification({
      eventId: event.id,
      eventType: event.type,
      repo: null,
      destination: destination.name,
      channel: destination.channel,
    })
    const fingerprint = destinationFingerprint(destination)
    const wasDisabled = await deps.store.disabledDestination(destination.name, fingerprint)
    const result = await deps.channels.send(destination, event)
    const base = { destination: destination.name, channel: destination.channel }
    if (result.kind === 'delivered') {
      await deps.store.updateNotification(claimed.id, { status: 'delivered' })
      if (wasDisabled) await deps.store.enableDestination(destination.name)
      results.push({
        ...base,
        status: 'delivered',
        error: null,
        ...(wasDisabled ? { enabled: true as const } : {}),
      })
    } else if (result.kind === 'gone') {
      await deps.store.disableDestination(destination.name, fingerprint, result.error)
      await deps.store.updateNotification(claimed.id, { status: 'disabled', error: result.error })
      results.push({ ...base, status: 'disabled', error: result.error })
    } else {
      await deps.store.updateNotification(claimed.id, { status: 'failed', error: result.error })
      results.push({ ...base, status: 'failed', error: result.error })
    }
  }
  return results
}
