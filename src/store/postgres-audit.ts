import type { Pool, PoolClient } from 'pg'
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
import { iso } from './open-postgres-pool.js'

/** Runs one statement: the pool, or the connection of a transaction under way. */
type Queryable = Pick<Pool | PoolClient, 'query'>

/** The PostgreSQL audit log: inserts and reads, nothing else (a trigger refuses the rest). */
export class PostgresAudit {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  async append(event: NewAuditEvent, db: Queryable = this.pool): Promise<void> {
    const c = auditColumns(event)
    await db.query(
      `INSERT INTO audit (at, actor, action, subject, details, via, repo, task, environment,
          release, before_state, after_state, request_id, source_ip, result)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        iso(this.now()),
        event.actor,
        event.action,
        event.subject,
        JSON.stringify(event.details),
        c.via,
        c.repo,
        c.task,
        c.environment,
        c.release,
        c.before_state,
        c.after_state,
        c.request_id,
        c.source_ip,
        c.result,
      ],
    )
  }

  async list(subject?: string): Promise<AuditEvent[]> {
    const result = await this.pool.query<AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit WHERE ($1::text IS NULL OR subject = $1) ORDER BY id`,
      [subject ?? null],
    )
    return result.rows.map(toAuditEvent)
  }

  async query(filter: AuditFilter): Promise<AuditEvent[]> {
    const result = await this.pool.query<AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit
        WHERE ($1::text IS NULL OR subject = $1) AND ($2::text IS NULL OR repo = $2)
          AND ($3::text IS NULL OR actor = $3)
          AND ($4::text IS NULL OR action LIKE $4 ESCAPE '\\')
          AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::bigint IS NULL OR id < $6)
        ORDER BY id DESC LIMIT $7`,
      [
        filter.subject ?? null,
        filter.repo ?? null,
        filter.actor ?? null,
        filter.action === undefined ? null : actionPattern(filter.action),
        filter.since ?? null,
        filter.beforeId ?? null,
        filter.limit ?? 100,
      ],
    )
    return result.rows.map(toAuditEvent)
  }
}
