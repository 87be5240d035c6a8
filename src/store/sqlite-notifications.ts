import type { Database, Statement } from 'better-sqlite3'
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
import { iso } from './open-sqlite-database.js'

type Params = Record<string, string | number | null>

/** Notification deliveries and disabled destinations of the SQLite store. */
export class SqliteNotifications {
  private readonly s: {
    claim: Statement<Params>
    byPair: Statement<[string, string], NotificationRow>
    update: Statement<Params, NotificationRow>
    disable: Statement<Params>
    enable: Statement<[string]>
    disabled: Statement<[string, string], DestinationRow>
  }

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
  ) {
    this.s = {
      claim: db.prepare(`INSERT INTO notification_deliveries (event_id, event_type, repo,
          destination, channel, status, created_at, updated_at)
        VALUES (@eventId, @eventType, @repo, @destination, @channel, 'pending', @now, @now)
        ON CONFLICT (event_id, destination) DO NOTHING`),
      byPair: db.prepare(
        'SELECT * FROM notification_deliveries WHERE event_id = ? AND destination = ?',
      ),
      update: db.prepare(`UPDATE notification_deliveries SET status = @status,
          attempts = attempts + @attempted, last_error = @error, updated_at = @now,
          delivered_at = CASE WHEN @status = 'delivered' THEN @now ELSE delivered_at END
        WHERE id = @id RETURNING *`),
      disable: db.prepare(`INSERT INTO notification_destinations (name, fingerprint, disabled_at,
          reason) VALUES (@name, @fingerprint, @now, @reason)
        ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint,
          disabled_at = excluded.disabled_at, reason = excluded.reason`),
      enable: db.prepare('DELETE FROM notification_destinations WHERE name = ?'),
      disabled: db.prepare(
        'SELECT * FROM notification_destinations WHERE name = ? AND fingerprint = ?',
      ),
    }
  }

  claim(delivery: NewNotificationDelivery): NotificationDelivery {
    return this.db.transaction(() => {
      this.s.claim.run({ ...delivery, now: iso(this.now()) })
      const row = this.s.byPair.get(delivery.eventId, delivery.destination)
      if (!row) throw new Error(`Claiming notification ${delivery.eventId} returned no row`)
      return toNotification(row)
    })()
  }

  update(id: number, change: NotificationChange): NotificationDelivery | undefined {
    const row = this.s.update.get({
      id,
      status: change.status,
      attempted: change.attempted === false ? 0 : 1,
      error: change.error ?? null,
      now: iso(this.now()),
    })
    return row ? toNotification(row) : undefined
  }

  list(filter: NotificationFilter): NotificationDelivery[] {
    const where: string[] = []
    const params: Params = { limit: filter.limit ?? 100 }
    if (filter.destination !== undefined) {
      where.push('destination = @destination')
      params.destination = filter.destination
    }
    if (filter.repo !== undefined) {
      where.push('repo = @repo')
      params.repo = filter.repo
    }
    if (filter.eventId !== undefined) {
      where.push('event_id = @eventId')
      params.eventId = filter.eventId
    }
    const sql = `SELECT * FROM notification_deliveries
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`
    return this.db.prepare<Params, NotificationRow>(sql).all(params).map(toNotification)
  }

  disable(name: string, fingerprint: string, reason: string): void {
    this.s.disable.run({ name, fingerprint, reason, now: iso(this.now()) })
  }

  enable(name: string): void {
    this.s.enable.run(name)
  }

  disabled(name: string, fingerprint: string): DisabledDestination | undefined {
    const row = this.s.disabled.get(name, fingerprint)
    return row && toDisabledDestination(row)
  }
}
