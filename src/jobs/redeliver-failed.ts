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
  const now = deps.now ?? Date.now
  const github = await deps.auth()
  // 1. The delivery log, newest first, back to the window (never past GitHub's retention).
  const windowMs = Math.min(Math.max(2 * deps.intervalMs, HOUR_MS), DELIVERY_RETENTION_MS)
  const since = new Date(now() - windowMs)
  const listed = await listDeliveriesSince(github, since, ctx.signal).catch((error: unknown) => {
    throw new Error(
      `Listing the app's webhook deliveries (GET /app/hook/deliveries) failed: ${errorText(error)}; the scan is retried, check the App's credentials and GitHub's status`,
      { cause: error },
    )
  })
  if (listed.truncated) {
    ctx.log.warn({ since: since.toISOString() }, 'Delivery log too long to read in one scan')
  }
  // 2. Deliveries with no successful attempt, of events DevSys handles, that DevSys never stored.
  const failed = failedDeliveries(listed.attempts).filter((a) => isHandled(a, deps.handledEvents))
  // A guid already claimed (its redelivery's own attempt may have failed too) is not tried again.
  const missed: DeliveryAttempt[] = []
  let stored = 0
  for (const attempt of failed) {
    if (await deps.hasDelivery(attempt.guid)) stored++
    else if (!(await deps.hasDelivery(redeliveryClaim(attempt.guid).id))) missed.push(attempt)
  }
  // 3. Claim each once (the queue records `redeliver:<guid>`), up to the cap per scan.
  const max = deps.maxPerRun ?? REDELIVERIES_PER_RUN
  const claimed: string[] = []
  let done = 0
  for (const attempt of missed) {
    if (claimed.length >= max) break
    done++
    const { guid, event, action } = attempt
    const payload: RedeliverPayload = { delivery: { guid, attemptId: attempt.id, event, action } }
    const result = await deps.enqueue(
      { kind: REDELIVER_FAILED, key: `redeliver:${guid}`, payload },
      { delivery: redeliveryClaim(guid) },
    )
    if (result.kind !== 'duplicate-delivery') claimed.push(guid)
  }
  const left = missed.length - done
  if (left > 0) {
    ctx.log.warn(
      { left, max, guids: missed.slice(done).map((a) => a.guid) },
      'More failed deliveries than one scan redelivers; the next scan continues',
    )
  }
  const details = {
    attempts: listed.attempts.length,
    failed: failed.length,
    stored,
    redeliveredBefore: failed.length - stored - missed.length,
    redelivering: claimed,
    left,
  }
  ctx.log.info(details, 'Scanned the webhook delivery log')
  return { status: 'done', summary: `${claimed.length} failed deliveries to redeliver`, details }
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
    log.warn({ status: result.status, err: result.message }, 'GitHub refused to redeliver')
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
