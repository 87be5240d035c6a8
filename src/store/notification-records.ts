/** Records of the NotificationStore part: one row per (event, destination), and disabled destinations. */

/**
 * Where one notification stands. `pending`: claimed, not sent yet; `retrying`: an attempt
 * failed and another will come; `delivered`, `failed` (attempts spent) and `disabled` (the
 * destination was disabled, nothing sent) are final.
 */
export type NotificationStatus = 'pending' | 'retrying' | 'delivered' | 'failed' | 'disabled'

/** The delivery of one event to one destination. */
export interface NotificationDelivery {
  id: number
  /** Derived from the state change it reports (`deploy.succeeded:acme/shop:42`). */
  eventId: string
  eventType: string
  repo: string | null
  /** The destination's name in the server configuration (never its URL). */
  destination: string
  channel: string
  status: NotificationStatus
  attempts: number
  lastError: string | null
  createdAt: string
  updatedAt: string
  deliveredAt: string | null
}

export interface NewNotificationDelivery {
  eventId: string
  eventType: string
  repo: string | null
  destination: string
  channel: string
}

export interface NotificationChange {
  status: NotificationStatus
  /** Counted as an attempt (a request was sent); default true. */
  attempted?: boolean
  error?: string | null
}

export interface NotificationFilter {
  destination?: string
  repo?: string
  eventId?: string
  /** Newest first, at most this many (default 100). */
  limit?: number
}

/** A destination turned off by its receiver (HTTP 410), while its settings stay the same. */
export interface DisabledDestination {
  name: string
  /** Hash of the destination's settings: new settings make it a new, enabled destination. */
  fingerprint: string
  disabledAt: string
  reason: string
}

/** A notification_deliveries row, as both stores read it. */
export interface NotificationRow {
  id: number
  event_id: string
  event_type: string
  repo: string | null
  destination: string
  channel: string
  status: NotificationStatus
  attempts: number
  last_error: string | null
  created_at: string
  updated_at: string
  delivered_at: string | null
}

/** The record of a notification_deliveries row. */
export function toNotification(row: NotificationRow): NotificationDelivery {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    repo: row.repo,
    destination: row.destination,
    channel: row.channel,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deliveredAt: row.delivered_at,
  }
}

/** A notification_destinations row: a destination disabled with its settings' fingerprint. */
export interface DestinationRow {
  name: string
  fingerprint: string
  disabled_at: string
  reason: string
}

export function toDisabledDestination(row: DestinationRow): DisabledDestination {
  return {
    name: row.name,
    fingerprint: row.fingerprint,
    disabledAt: row.disabled_at,
    reason: row.reason,
  }
}
