import type { Pool } from 'pg'
import {
  type DestinationRow,
  type DisabledDestination,
  type NewNotificationDelivery,
  type NotificationChange,
  type NotificationDelivery,
  type NotificationFilter,
  type NotificationRow,
  toDisabledDestination,
  toNotification,
} from './notification-records.js'
import { iso } from './open-postgres-pool.js'

/** Notification deliveries and disabled destinations of the PostgreSQL store. */
export class PostgresNotifications {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  async claim(delivery: NewNotificationDelivery): Promise<NotificationDelivery> {
    const now = iso(this.now())
    // One statement claims; the pair's row (new or earlier) is then read back.
    await this.pool.query(
      `INSERT INTO notification_deliveries (event_id, event_type, repo, destination, channel,
          status, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)
        ON CONFLICT (event_id, destination) DO NOTHING`,
      [
        delivery.eventId,
        delivery.eventType,
        delivery.repo,
        delivery.destination,
        delivery.channel,
        now,
      ],
    )
    const result = await this.pool.query<NotificationRow>(
      'SELECT * FROM notification_deliveries WHERE event_id = $1 AND destination = $2',
      [delivery.eventId, delivery.destination],
    )
    const row = result.rows[0]
    if (!row) throw new Error(`Claiming notification ${delivery.eventId} returned no row`)
    return toNotification(row)
  }

  async update(id: number, change: NotificationChange): Promise<NotificationDelivery | undefined> {
    const result = await this.pool.query<NotificationRow>(
      `UPDATE notification_deliveries SET status = $2, attempts = attempts + $3,
          last_error = $4, updated_at = $5,
          delivered_at = CASE WHEN $2 = 'delivered' THEN $5::timestamptz ELSE delivered_at END
        WHERE id = $1 RETURNING *`,
      [
        id,
        change.status,
        change.attempted === false ? 0 : 1,
        change.error ?? null,
        iso(this.now()),
      ],
    )
    const row = result.rows[0]
    return row ? toNotification(row) : undefined
  }

  async list(filter: NotificationFilter): Promise<NotificationDelivery[]> {
    const where: string[] = []
    const params: unknown[] = []
    const add = (column: string, value: string | undefined) => {
      if (value === undefined) return
      params.push(value)
      where.push(`${column} = $${params.length}`)
    }
    add('destination', filter.destination)
    add('repo', filter.repo)
    add('event_id', filter.eventId)
    params.push(filter.limit ?? 100)
    const result = await this.pool.query<NotificationRow>(
      `SELECT * FROM notification_deliveries
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY id DESC LIMIT $${params.length}`,
      params,
    )
    return result.rows.map(toNotification)
  }

  async disable(name: string, fingerprint: string, reason: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO notification_destinations (name, fingerprint, disabled_at, reason)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint,
          disabled_at = excluded.disabled_at, reason = excluded.reason`,
      [name, fingerprint, iso(this.now()), reason],
    )
  }

  async enable(name: string): Promise<void> {
    await this.pool.query('DELETE FROM notification_destinations WHERE name = $1', [name])
  }

  async disabled(name: string, fingerprint: string): Promise<DisabledDestination | undefined> {
    const result = await this.pool.query<DestinationRow>(
      'SELECT * FROM notification_destinations WHERE name = $1 AND fingerprint = $2',
      [name, fingerprint],
    )
    const row = result.rows[0]
    return row && toDisabledDestination(row)
  }
}
