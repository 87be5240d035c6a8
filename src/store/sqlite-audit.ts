import type { Database, Statement } from 'better-sqlite3'
import {
  AUDIT_COLUMNS,
  type AuditEvent,
  type AuditFilter,
  type AuditRow,
  actionPattern,
  auditColumns,
  type NewAuditEvent,
  toAuditEvent,
} from './audit-records.js'
import { iso } from './open-sqlite-database.js'

type Params = Record<string, string | number | null>

/** The SQLite audit log: inserts and reads, nothing else (triggers refuse UPDATE and DELETE). */
export class SqliteAudit {
  private readonly s: {
    insert: Statement<Params>
    list: Statement<Params, AuditRow>
    query: Statement<Params, AuditRow>
  }

  constructor(
    db: Database,
    private readonly now: () => number,
  ) {
    this.s = {
      insert: db.prepare(`INSERT INTO audit (at, actor, action, subject, details, via, repo, task,
          environment, release, before_state, after_state, request_id, source_ip, result)
        VALUES (@at, @actor, @action, @subject, @details, @via, @repo, @task, @environment,
          @release, @before_state, @after_state, @request_id, @source_ip, @result)`),
      list: db.prepare(`SELECT ${AUDIT_COLUMNS} FROM audit
        WHERE (@subject IS NULL OR subject = @subject) ORDER BY id`),
      query: db.prepare(`SELECT ${AUDIT_COLUMNS} FROM audit
        WHERE (@subject IS NULL OR subject = @subject) AND (@repo IS NULL OR repo = @repo)
          AND (@actor IS NULL OR actor = @actor)
          AND (@action IS NULL OR action LIKE @action ESCAPE '\\')
          AND (@since IS NULL OR at >= @since) AND (@beforeId IS NULL OR id < @beforeId)
        ORDER BY id DESC LIMIT @limit`),
    }
  }

  append(event: NewAuditEvent): void {
    this.s.insert.run({
      at: iso(this.now()),
      actor: event.actor,
      action: event.action,
      subject: event.subject,
      details: JSON.stringify(event.details),
      ...auditColumns(event),
    })
  }

  list(subject?: string): AuditEvent[] {
    return this.s.list.all({ subject: subject ?? null }).map(toAuditEvent)
  }

  query(filter: AuditFilter): AuditEvent[] {
    return this.s.query
      .all({
        subject: filter.subject ?? null,
        repo: filter.repo ?? null,
        actor: filter.actor ?? null,
        action: filter.action === undefined ? null : actionPattern(filter.action),
        since: filter.since ?? null,
        beforeId: filter.beforeId ?? null,
        limit: filter.limit ?? 100,
      })
      .map(toAuditEvent)
  }
}
