/**
 * The audit log's records: one per state change, whoever made it. Append-only: the port has no
 * update or delete, SQLite and PostgreSQL triggers refuse both, and every field passes the
 * store's redaction (src/secrets/redact-store.ts) so no secret is ever kept.
 */

/** How a change reached DevSys. Records written before migration 11 read as 'system'. */
export const AUDIT_VIA = ['github-comment', 'api', 'dashboard', 'monitor', 'system'] as const
export type AuditVia = (typeof AUDIT_VIA)[number]

/** What a change was about; null where it does not apply (a token has no environment). */
export interface AuditTarget {
  repo: string | null
  task: string | null
  environment: string | null
  release: string | null
}

export interface AuditEvent {
  /** Increasing with each record; `beforeId` pages back through the log with it. */
  id: number
  at: string
  /** A GitHub login, `token:<name>`, `manager-api` (the bootstrap token) or a DevSys part. */
  actor: string
  via: AuditVia
  action: string
  subject: string
  target: AuditTarget
  /** The state before and after the change, where the writer knows it (null otherwise). */
  before: unknown
  after: unknown
  requestId: string | null
  /** The caller's address, for API requests. */
  sourceIp: string | null
  /** How the request ended: 'ok', 'accepted' (queued), 'denied', 'refused', 'failed'; null before 11. */
  result: string | null
  details: Record<string, unknown>
}

/** What a writer gives: the old four fields, and any of the others (the rest default). */
export interface NewAuditEvent {
  actor: string
  action: string
  subject: string
  details: Record<string, unknown>
  via?: AuditVia
  target?: Partial<AuditTarget>
  before?: unknown
  after?: unknown
  requestId?: string | null
  sourceIp?: string | null
  result?: string | null
}

/** `queryAudit`'s filter: every field given must match; newest first. */
export interface AuditFilter {
  subject?: string
  repo?: string
  actor?: string
  /** An exact action, or a prefix ending in `*` (`deploy.*`). */
  action?: string
  /** ISO time: records at or after it. */
  since?: string
  /** Records with a smaller id (the next page of a newest-first listing). */
  beforeId?: number
  /** At most this many (default 100). */
  limit?: number
}

/** The columns migration 11 added, as one record's values, defaults filled in. */
export function auditColumns(event: NewAuditEvent) {
  const target = event.target ?? {}
  return {
    via: event.via ?? 'system',
    repo: target.repo ?? null,
    task: target.task ?? null,
    environment: target.environment ?? null,
    release: target.release ?? null,
    before_state: event.before === undefined ? null : JSON.stringify(event.before),
    after_state: event.after === undefined ? null : JSON.stringify(event.after),
    request_id: event.requestId ?? null,
    source_ip: event.sourceIp ?? null,
    result: event.result ?? null,
  }
}

/** A stored audit row, as both databases return it (JSON columns still text in SQLite). */
export interface AuditRow {
  id: number | string
  at: string
  actor: string
  action: string
  subject: string
  details: string | Record<string, unknown>
  via: string
  repo: string | null
  task: string | null
  environment: string | null
  release: string | null
  before_state: string | null
  after_state: string | null
  request_id: string | null
  source_ip: string | null
  result: string | null
}

/** The record a row holds. */
export function toAuditEvent(r: AuditRow): AuditEvent {
  return {
    id: Number(r.id),
    at: r.at,
    actor: r.actor,
    via: r.via as AuditVia,
    action: r.action,
    subject: r.subject,
    target: { repo: r.repo, task: r.task, environment: r.environment, release: r.release },
    before: r.before_state === null ? null : (JSON.parse(r.before_state) as unknown),
    after: r.after_state === null ? null : (JSON.parse(r.after_state) as unknown),
    requestId: r.request_id,
    sourceIp: r.source_ip,
    result: r.result,
    details:
      typeof r.details === 'string'
        ? (JSON.parse(r.details) as Record<string, unknown>)
        : r.details,
  }
}

/** The LIKE pattern of an action filter: `deploy.*` → `deploy.%`, else the action itself. */
export function actionPattern(action: string): string {
  const escaped = action.replace(/[\\%_]/g, (c) => `\\${c}`)
  return escaped.endsWith('*') ? `${escaped.slice(0, -1)}%` : escaped
}

export const AUDIT_COLUMNS = `id, at, actor, action, subject, details, via, repo, task, environment,
  release, before_state, after_state, request_id, source_ip, result`
