import type { Enqueue, GitHubAuth } from '../app-deps.js'
import {
  DELIVERY_RETENTION_MS,
  type DeliveryAttempt,
  failedDeliveries,
  isHandled,
  listDeliveriesSince,
  redeliver,
} from '../github/redeliver.js'
import type { Schedule } from '../queue/queue.js'
import type { JobContext, JobHandler, Outcome } from '../queue/types.js'
import {
  REDELIVER_SCAN_KEY,
  type RedeliverPayload,
  redeliveryClaim,
} from '../triggers/job-payloads.js'

export const REDELIVER_FAILED = 'redeliver-failed'

/** Redeliveries claimed per scan at most; the rest wait for the next scan. */
export const REDELIVERIES_PER_RUN = 50

const HOUR_MS = 3600_000

export interface RedeliverFailedDeps {
  /** Called without an installation: the delivery log is the app's own (JWT). */
  auth: GitHubAuth
  enqueue: Enqueue
  /** Whether the queue stored this X-GitHub-Delivery (DevSys received it, whatever GitHub logged). */
  hasDelivery(id: string): Promise<boolean>
  /** The events DevSys subscribes to, as `event` or `event.action` (src/webhooks/index.ts). */
  handledEvents: readonly string[]
  /** The scans' interval (REDELIVERY_INTERVAL_SECONDS); a scan looks back two of them, or 1 h. */
  intervalMs: number
  maxPerRun?: number
  now?: () => number
}

/** The repeating scan, as src/boot.ts registers it. */
export function redeliverySchedule(intervalMs: number): Schedule {
  const payload: RedeliverPayload = { scan: true }
  return {
    name: REDELIVER_FAILED,
    everyMs: intervalMs,
    job: { kind: REDELIVER_FAILED, key: REDELIVER_SCAN_KEY, payload },
  }
}

/**
 * GitHub does not redeliver a failed webhook by itself: a scan lists the app's recent deliveries
 * and claims each failed one DevSys handles but never stored, once per guid; each claim is its
 * own job, which asks GitHub to deliver it again.
 */
export function createRedeliverFailedJob(deps: RedeliverFailedDeps): JobHandler<RedeliverPayload> {
  return {
    kind: REDELIVER_FAILED,
    run: (payload, ctx) =>
      'delivery' in payload ? redeliverOne(payload.delivery, deps, ctx) : scan(deps, ctx),
  }
}

async function scan(deps: RedeliverFailedDeps, ctx: JobContext): Promise<Outcome> {
  // 1. The delivery log, newest first, back to the window.
  const attempts = await listRecent(deps, ctx)
  // 2. Deliveries of events DevSys handles that no attempt delivered and DevSys never stored.
  const failed = failedDeliveries(attempts).filter((a) => isHandled(a, deps.handledEvents))
  const { missed, stored } = await sortOut(failed, deps.hasDelivery)
  // 3. Each claimed once, up to the cap; the rest wait for the next scan.
  const { claimed, left } = await claim(missed, deps, ctx)
  const details = {
    attempts: attempts.length,
    failed: failed.length,
    stored,
    redeliveredBefore: failed.length - stored - missed.length,
    redelivering: claimed,
    left,
  }
  ctx.log.info(details, 'Scanned the webhook delivery log')
  return { status: 'done', summary: `${claimed.length} failed deliveries to redeliver`, details }
}

/** Two intervals back (at least an hour, so a short outage is covered), never past retention. */
async function listRecent(deps: RedeliverFailedDeps, ctx: JobContext): Promise<DeliveryAttempt[]> {
  const windowMs = Math.min(Math.max(2 * deps.intervalMs, HOUR_MS), DELIVERY_RETENTION_MS)
  const since = new Date((deps.now ?? Date.now)() - windowMs)
  const listed = await listDeliveriesSince(await deps.auth(), since, ctx.signal).catch(
    (error: unknown) => {
      throw new Error(
        `Listing the app's webhook deliveries (GET /app/hook/deliveries) failed: ${errorText(error)}; the scan is retried, check the App's credentials and GitHub's status`,
        { cause: error },
      )
    },
  )
  if (listed.truncated) {
    ctx.log.warn({ since: since.toISOString() }, 'Delivery log too long to read in one scan')
  }
  return listed.attempts
}

/**
 * Drops what DevSys stored (it was received, whatever GitHub logged, e.g. a timeout after the
 * store) and what was claimed before (its redelivery's own attempt may have failed too).
 */
async function sortOut(
  failed: DeliveryAttempt[],
  hasDelivery: RedeliverFailedDeps['hasDelivery'],
): Promise<{ missed: DeliveryAttempt[]; stored: number }> {
  const missed: DeliveryAttempt[] = []
  let stored = 0
  for (const attempt of failed) {
    if (await hasDelivery(attempt.guid)) stored++
    else if (!(await hasDelivery(redeliveryClaim(attempt.guid).id))) missed.push(attempt)
  }
  return { missed, stored }
}

/**
 * Enqueues one redelivery job per guid with the delivery id `redeliver:<guid>`: the queue records
 * it once, so two processes scanning at once still claim a guid once.
 */
async function claim(
  missed: DeliveryAttempt[],
  deps: RedeliverFailedDeps,
  ctx: JobContext,
): Promise<{ claimed: string[]; left: number }> {
  const max = deps.maxPerRun ?? REDELIVERIES_PER_RUN
  const claimed: string[] = []
  let tried = 0
  for (const { id, guid, event, action } of missed) {
    if (claimed.length >= max) break
    tried++
    const delivery = redeliveryClaim(guid)
    const payload: RedeliverPayload = { delivery: { guid, attemptId: id, event, action } }
    const result = await deps.enqueue(
      { kind: REDELIVER_FAILED, key: delivery.id, payload },
      { delivery },
    )
    if (result.kind !== 'duplicate-delivery') claimed.push(guid)
  }
  const left = missed.length - tried
  if (left > 0) {
    ctx.log.warn(
      { left, max, guids: missed.slice(tried).map((a) => a.guid) },
      'More failed deliveries than one scan redelivers; the next scan continues',
    )
  }
  return { claimed, left }
}

async function redeliverOne(
  delivery: Extract<RedeliverPayload, { delivery: unknown }>['delivery'],
  deps: RedeliverFailedDeps,
  ctx: JobContext,
): Promise<Outcome> {
  const log = ctx.log.child({ delivery: delivery.guid, event: delivery.event })
  // Received after all (redelivered by hand from the App's settings, say): nothing to do.
  if (await deps.hasDelivery(delivery.guid)) {
    return { status: 'skipped', reason: 'stored', summary: 'DevSys has received this delivery' }
  }
  const result = await redeliver(await deps.auth(), delivery.attemptId, ctx.signal)
  if (result.kind === 'refused') {
    log.warn({ status: result.status, reason: result.message }, 'GitHub refused to redeliver')
    return {
      status: 'skipped',
      reason: 'refused',
      summary: `GitHub refused to redeliver (${result.status}): ${result.message}`,
    }
  }
  log.info({ attempt: delivery.attemptId }, 'Asked GitHub to redeliver a failed webhook')
  return { status: 'done', summary: `Redelivery of ${delivery.guid} requested` }
}

function errorText(error: unknown): string {
  const status =
    typeof error === 'object' && error !== null && 'status' in error ? error.status : undefined
  const message = error instanceof Error ? error.message : String(error)
  return status === undefined ? message : `${String(status)} ${message}`
}
