import type { GitHubClient } from '../app-deps.js'

/*
 * The app's webhook delivery log (GET /app/hook/deliveries) and its redelivery (POST
 * /app/hook/deliveries/{id}/attempts). These are app-level calls (JWT), not reports to a user,
 * so they live here rather than in src/report/.
 */

type AppsApi = Pick<
  GitHubClient['rest']['apps'],
  'listWebhookDeliveries' | 'redeliverWebhookDelivery'
>

/** The slice of an app-authenticated (JWT) client the delivery log needs. */
export interface DeliveryLogClient {
  rest: { apps: AppsApi }
}

/** One attempt at delivering a webhook, as GitHub's delivery log lists it. */
export interface DeliveryAttempt {
  /** The attempt's id: what a redelivery is asked for. */
  id: number
  /** The event's `X-GitHub-Delivery`, shared by every attempt (redeliveries too). */
  guid: string
  event: string
  action: string | null
  statusCode: number
  deliveredAt: string
}

/** GitHub keeps deliveries for 3 days; older ones cannot be listed or redelivered. */
export const DELIVERY_RETENTION_MS = 3 * 24 * 3600_000

/** Pages read at most per listing (100 attempts each), so a runaway log cannot hold a job. */
const MAX_PAGES = 50

/**
 * The app's delivery attempts from the newest back to `since`, newest first: pages of 100,
 * each next one asked for with the `cursor` GitHub gives in the Link header.
 */
export async function listDeliveriesSince(
  github: DeliveryLogClient,
  since: Date,
  signal?: AbortSignal,
): Promise<{ attempts: DeliveryAttempt[]; truncated: boolean }> {
  const attempts: DeliveryAttempt[] = []
  let cursor: string | undefined
  for (let page = 0; page < MAX_PAGES; page++) {
    const { data, headers } = await github.rest.apps.listWebhookDeliveries({
      per_page: 100,
      ...(cursor === undefined ? {} : { cursor }),
      ...(signal === undefined ? {} : { request: { signal } }),
    })
    let older = false
    for (const item of data) {
      if (Date.parse(item.delivered_at) < since.getTime()) {
        older = true
        continue
      }
      attempts.push({
        id: item.id,
        guid: item.guid,
        event: item.event,
        action: item.action,
        statusCode: item.status_code,
        deliveredAt: item.delivered_at,
      })
    }
    cursor = nextCursor(headers.link)
    if (older || cursor === undefined) return { attempts, truncated: false }
  }
  return { attempts, truncated: true }
}

/** The `cursor` of the Link header's `rel="next"` URL; undefined on the last page. */
export function nextCursor(link: string | undefined): string | undefined {
  for (const part of (link ?? '').split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part)
    if (match?.[1] === undefined) continue
    return new URL(match[1]).searchParams.get('cursor') ?? undefined
  }
  return undefined
}

/**
 * The deliveries that failed: for each guid none of whose attempts got a 2xx answer, its newest
 * attempt (the one to redeliver), newest first.
 */
export function failedDeliveries(attempts: readonly DeliveryAttempt[]): DeliveryAttempt[] {
  const byGuid = new Map<string, DeliveryAttempt[]>()
  for (const attempt of attempts) {
    const group = byGuid.get(attempt.guid) ?? []
    group.push(attempt)
    byGuid.set(attempt.guid, group)
  }
  const failed: DeliveryAttempt[] = []
  for (const group of byGuid.values()) {
    if (group.some((attempt) => attempt.statusCode >= 200 && attempt.statusCode < 300)) continue
    const newest = group.reduce((a, b) =>
      Date.parse(b.deliveredAt) > Date.parse(a.deliveredAt) ? b : a,
    )
    failed.push(newest)
  }
  return failed.sort((a, b) => Date.parse(b.deliveredAt) - Date.parse(a.deliveredAt))
}

/** Whether DevSys subscribes to the attempt's event (`push`) or event and action (`issues.labeled`). */
export function isHandled(attempt: DeliveryAttempt, events: readonly string[]): boolean {
  return (
    events.includes(attempt.event) ||
    (attempt.action !== null && events.includes(`${attempt.event}.${attempt.action}`))
  )
}

export type RedeliverResult =
  | { kind: 'redelivered' }
  | { kind: 'refused'; status: number; message: string }

/**
 * Asks GitHub to deliver an attempt again. GitHub refusing it for good (4xx: gone, too old) is a
 * returned outcome; anything else (5xx, network) throws, for the job's retry.
 */
export async function redeliver(
  github: DeliveryLogClient,
  attemptId: number,
  signal?: AbortSignal,
): Promise<RedeliverResult> {
  try {
    await github.rest.apps.redeliverWebhookDelivery({
      delivery_id: attemptId,
      ...(signal === undefined ? {} : { request: { signal } }),
    })
    return { kind: 'redelivered' }
  } catch (error) {
    const status =
      typeof error === 'object' && error !== null && 'status' in error ? error.status : 0
    if (typeof status === 'number' && status >= 400 && status < 500 && status !== 429) {
      return {
        kind: 'refused',
        status,
        message: error instanceof Error ? error.message : String(error),
      }
    }
    throw error
  }
}
