/**
 * Notification events: what DevSys tells people about, one event per state change. Jobs publish
 * them through the `Notify` dependency (src/notify/queue-notifier.ts); the monitoring jobs
 * publish `incident.opened` and `incident.resolved` the same way (`incidentEvent`).
 */

export const NOTIFICATION_EVENTS = [
  'task.accepted',
  'task.rejected',
  'pr.opened',
  'tests.passed',
  'tests.failed',
  'deploy.succeeded',
  'deploy.failed',
  'rollback',
  'incident.opened',
  'incident.resolved',
] as const
export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number]

/** A detail shown with an event: plain values only, so every channel can print it. */
export type EventDetail = string | number | boolean | null

export interface NotificationEvent {
  /**
   * Derived from the state change (`deploy.succeeded:acme/shop:deployment-42`): publishing the
   * same change again, from a retried or redelivered job, is the same event and sends nothing.
   */
  id: string
  /** `test` only for POST /api/notifications/test, which no subscription matches. */
  type: NotificationEventType | 'test'
  /** 'owner/name'; null for the test event. */
  repo: string | null
  /** Where the repository's subscriptions are read (its `.github/devsys.yml`). */
  installationId: number | null
  /** Deploys, rollbacks and incidents have one; tasks, pull requests and tests do not. */
  environment: string | null
  task: string | null
  /** One line for people, e.g. "Deploy of shop-api to production succeeded". */
  title: string
  /** Where to look (the PR, the deployment's site, the incident issue). */
  url: string | null
  details: Record<string, EventDetail>
  occurredAt: string
}

/** Publishes an event to the destinations the repository subscribes it to; once per event id. */
export type Notify = (event: NotificationEvent) => Promise<void>

/** Publishes `event` when there is one and the caller was given a `notify`. */
export async function publish(
  notify: Notify | undefined,
  event: NotificationEvent | undefined,
): Promise<void> {
  if (notify !== undefined && event !== undefined) await notify(event)
}

/** The Notifier port: publish an event; delivery happens later, as queue jobs. */
export interface Notifier {
  publish: Notify
}

/** What every event of a repository carries. */
export interface EventSubject {
  repo: string
  installationId: number | null
  environment?: string | null
  task?: string | null
}

/**
 * Builds an event whose id is `<type>:<repo>:<change>`: `change` names the state change (a
 * deployment id, a test run id, a PR number with its head commit), never a time.
 */
export function notificationEvent(
  type: NotificationEventType,
  subject: EventSubject,
  change: string | number,
  fields: { title: string; url?: string | null; details?: Record<string, EventDetail> },
  now: () => Date = () => new Date(),
): NotificationEvent {
  return {
    id: `${type}:${subject.repo}:${change}`,
    type,
    repo: subject.repo,
    installationId: subject.installationId,
    environment: subject.environment ?? null,
    task: subject.task ?? null,
    title: fields.title,
    url: fields.url ?? null,
    details: fields.details ?? {},
    occurredAt: now().toISOString(),
  }
}

/**
 * An incident event for the monitoring jobs: `incident` names the incident (its issue number or
 * id), so opening and resolving it are one event each.
 */
export function incidentEvent(
  type: 'incident.opened' | 'incident.resolved',
  subject: EventSubject & { environment: string },
  incident: string | number,
  fields: { title: string; url?: string | null; details?: Record<string, EventDetail> },
): NotificationEvent {
  return notificationEvent(type, subject, incident, fields)
}
