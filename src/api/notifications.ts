import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppDeps } from '../app-deps.js'
import { describeDestination } from '../config/notify-destinations.js'
import { createChannels } from '../notify/channels.js'
import { sendTestEvent } from '../notify/deliver-event.js'
import type { NotificationEvent } from '../notify/events.js'
import type { NotificationDelivery } from '../store/store.js'
import { ApiError, readBody, readLimitParam, readRepoParam, sendJson } from './http.js'

type Deps = Pick<AppDeps, 'store' | 'config' | 'log'>

/** A delivery as the API shows it: names and outcomes, never a destination's URL or secret. */
function deliveryJson(d: NotificationDelivery) {
  return {
    id: d.id,
    event: d.eventId,
    type: d.eventType,
    repo: d.repo,
    destination: d.destination,
    channel: d.channel,
    status: d.status,
    attempts: d.attempts,
    lastError: d.lastError,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    deliveredAt: d.deliveredAt,
  }
}

/** `GET /api/notifications?destination=&repo=&limit=`: recent deliveries, newest first. */
export async function listNotifications(res: ServerResponse, url: URL, deps: Deps) {
  const destination = url.searchParams.get('destination')
  const repo = readRepoParam(url)
  const limit = readLimitParam(url) ?? 100
  const deliveries = await deps.store.listNotifications({
    ...(destination === null ? {} : { destination }),
    ...(repo === null ? {} : { repo }),
    limit,
  })
  sendJson(res, 200, {
    destinations: deps.config.notify.destinations.map((d) => ({
      name: d.name,
      channel: d.channel,
      host: describeDestination(d),
    })),
    deliveries: deliveries.map(deliveryJson),
  })
}

/**
 * `POST /api/notifications/test`: sends a test event to every configured destination now, one
 * attempt each (a disabled destination too: one that accepts it is enabled again), and answers
 * what each did.
 */
export async function testNotifications(req: IncomingMessage, res: ServerResponse, deps: Deps) {
  await readBody(req, 16 * 1024)
  const { destinations, allowedHosts } = deps.config.notify
  if (destinations.length === 0) {
    throw new ApiError(
      409,
      'no_destinations',
      'no notification destination is configured; set NOTIFY_WEBHOOK_URL and NOTIFY_WEBHOOK_SECRET, NOTIFY_SLACK_WEBHOOK_URL, or NOTIFY_SMTP_URL with NOTIFY_EMAIL_FROM and NOTIFY_EMAIL_TO',
    )
  }
  const now = new Date()
  const event: NotificationEvent = {
    id: `test:${now.getTime()}:${Math.random().toString(36).slice(2, 10)}`,
    type: 'test',
    repo: null,
    installationId: null,
    environment: null,
    task: null,
    title: 'DevSys test notification',
    url: null,
    details: { sentBy: 'POST /api/notifications/test' },
    occurredAt: now.toISOString(),
  }
  const channels = createChannels({ reach: { allowed: allowedHosts } })
  try {
    const results = await sendTestEvent(
      { store: deps.store, channels, log: deps.log },
      event,
      destinations,
    )
    const ok = results.every((r) => r.status === 'delivered')
    sendJson(res, ok ? 200 : 502, { event: event.id, results })
  } finally {
    channels.close()
  }
}
