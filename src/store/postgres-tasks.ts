import type { Pool, PoolClient } from 'pg'
import { inTransaction, iso } from './open-postgres-pool.js'
import type { PostgresAudit } from './postgres-audit.js'
import {
  type NewTask,
  type SaveTaskResult,
  type Task,
  type TaskCode,
  type TaskRef,
  type TaskSource,
  type TaskStatus,
  taskSubject,
} from './store.js'

interface TaskRow {
  id: string
  title: string
  status: TaskStatus
  source: TaskSource
  source_key: string
  repo: string | null
  manifest_text: string
  spec: string
  revision: number
  branch: string | null
  head_sha: string | null
  pr_number: number | null
  pr_url: string | null
  created_at: string
  updated_at: string
}

const UNIQUE_VIOLATION = '23505'

// coalesce(repo, '') is the scope of tasks_repo_id: API tasks without a repo share ''.
const BY_REF = `coalesce(repo, '') = $1 AND id = $2`
const TASK_COLUMNS = `id, title, status, source, source_key, repo, manifest_text, spec, revision,
  branch, head_sha, pr_number, pr_url, created_at, updated_at`

/**
 * Tasks and the audit trail of the PostgreSQL store: every task change writes its audit event
 * in the same transaction, and the task's row is locked while it changes.
 */
export class PostgresTasks {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
    /** Task changes write their audit events in their own transaction. */
    readonly audit: PostgresAudit,
  ) {}

  save(task: NewTask): Promise<SaveTaskResult> {
    return inTransaction(this.pool, (client) => this.saveIn(client, task))
  }

  private async saveIn(client: PoolClient, task: NewTask): Promise<SaveTaskResult> {
    const now = iso(this.now())
    const ref: TaskRef = { repo: task.source.repo, id: task.id }
    const source = JSON.stringify(task.source)
    // One statement decides whether the id is new: a concurrent save of the same new task waits
    // for this one and then finds the row below, never a unique violation.
    const inserted = await client.query<TaskRow>(
      `INSERT INTO tasks (id, title, status, source, source_key, repo, manifest_text, spec,
          revision, created_at, updated_at)
        VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, 1, $8, $8)
        ON CONFLICT ((coalesce(repo, '')), id) DO NOTHING
        RETURNING ${TASK_COLUMNS}`,
      [
        task.id,
        task.title,
        source,
        task.source.key,
        task.source.repo,
        task.manifestText,
        task.spec,
        now,
      ],
    )
    const created = inserted.rows[0]
    if (created) {
      await this.auditIn(client, task.source.requester, 'task.created', ref, {
        revision: 1,
        source: task.source.kind,
      })
      return { kind: 'created', task: toTask(created) }
    }
    const existing = await this.lock(client, ref)
    if (!existing) throw new Error(`Task ${task.id} vanished while it was being saved`)
    // A task id is only ever reused by the source that created it (the same issue or file of
    // the same repository); anything else is a collision the caller must report.
    if (existing.source_key !== task.source.key) {
      return { kind: 'conflict', existing: toTask(existing) }
    }
    if (existing.manifest_text === task.manifestText && existing.spec === task.spec) {
      return { kind: 'unchanged', task: toTask(existing) }
    }
    const updated = await client.query<TaskRow>(
      `UPDATE tasks SET title = $3, source = $4, manifest_text = $5, spec = $6,
          revision = revision + 1, updated_at = $7
        WHERE ${BY_REF} RETURNING ${TASK_COLUMNS}`,
      [...key(ref), task.title, source, task.manifestText, task.spec, now],
    )
    const row = must(updated.rows[0], task.id)
    await this.auditIn(client, task.source.requester, 'task.updated', ref, {
      revision: row.revision,
      source: task.source.kind,
    })
    return { kind: 'updated', task: toTask(row) }
  }

  async get(ref: TaskRef): Promise<Task | undefined> {
    const result = await this.pool.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks WHERE ${BY_REF}`,
      key(ref),
    )
    const row = result.rows[0]
    return row && toTask(row)
  }

  async list(filter: { status?: TaskStatus; repo?: string; id?: string } = {}): Promise<Task[]> {
    // seq (insertion order) breaks ties between tasks created in the same millisecond.
    const result = await this.pool.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR repo = $2)
          AND ($3::text IS NULL OR id = $3)
        ORDER BY created_at DESC, seq DESC`,
      [filter.status ?? null, filter.repo ?? null, filter.id ?? null],
    )
    return result.rows.map(toTask)
  }

  setStatus(ref: TaskRef, status: TaskStatus, actor: string): Promise<Task | undefined> {
    return inTransaction(this.pool, async (client) => {
      const before = await this.lock(client, ref)
      if (!before) return undefined
      // Not a state change, so no audit event: the trail stays a list of real transitions.
      if (before.status === status) return toTask(before)
      const result = await client.query<TaskRow>(
        `UPDATE tasks SET status = $3, updated_at = $4 WHERE ${BY_REF} RETURNING ${TASK_COLUMNS}`,
        [...key(ref), status, iso(this.now())],
      )
      await this.auditIn(
        client,
        actor,
        'task.status',
        ref,
        { from: before.status, to: status },
        { before: { status: before.status }, after: { status } },
      )
      return toTask(must(result.rows[0], ref.id))
    })
  }

  async setCode(ref: TaskRef, code: TaskCode, actor: string): Promise<Task | undefined> {
    return this.setCodeIn(ref, code, actor).catch((error: unknown) => {
      // Worded as SQLite words it, so callers see one error whichever store they run on.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION && code.pullRequest) {
        throw new Error(
          `UNIQUE constraint failed: pull request #${code.pullRequest.number} of ${ref.repo} already belongs to another task`,
        )
      }
      throw error
    })
  }

  private setCodeIn(ref: TaskRef, code: TaskCode, actor: string): Promise<Task | undefined> {
    return inTransaction(this.pool, async (client) => {
      const result = await client.query<TaskRow>(
        `UPDATE tasks SET branch = $3, head_sha = $4, pr_number = $5, pr_url = $6,
            updated_at = $7
          WHERE ${BY_REF} RETURNING ${TASK_COLUMNS}`,
        [
          ...key(ref),
          code.branch,
          code.headSha,
          code.pullRequest?.number ?? null,
          code.pullRequest?.url ?? null,
          iso(this.now()),
        ],
      )
      const row = result.rows[0]
      if (!row) return undefined
      await this.auditIn(client, actor, 'task.code', ref, { ...code })
      return toTask(row)
    })
  }

  async findByPullRequest(repo: string, number: number): Promise<Task | undefined> {
    const result = await this.pool.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks WHERE repo = $1 AND pr_number = $2`,
      [repo, number],
    )
    const row = result.rows[0]
    return row && toTask(row)
  }

  /** The task's row, locked until the transaction ends. */
  private async lock(client: PoolClient, ref: TaskRef): Promise<TaskRow | undefined> {
    const result = await client.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks WHERE ${BY_REF} FOR UPDATE`,
      key(ref),
    )
    return result.rows[0]
  }

  private auditIn(
    client: PoolClient,
    actor: string,
    action: string,
    ref: TaskRef,
    details: Record<string, unknown>,
    change: { before?: unknown; after?: unknown } = {},
  ): Promise<void> {
    return this.audit.append(
      {
        actor,
        action,
        subject: taskSubject(ref),
        target: { repo: ref.repo, task: ref.id },
        details,
        ...change,
      },
      client,
    )
  }
}

/** The statement parameters $1, $2 naming a task: its repository scope and its id. */
function key(ref: TaskRef): [string, string] {
  return [ref.repo ?? '', ref.id]
}

function must(row: TaskRow | undefined, id: string): TaskRow {
  if (!row) throw new Error(`Writing task ${id} returned no row`)
  return row
}

function toTask(r: TaskRow): Task {
  return {
    id: r.id,
    repo: r.repo,
    title: r.title,
    status: r.status,
    source: r.source,
    manifestText: r.manifest_text,
    spec: r.spec,
    revision: r.revision,
    code:
      r.branch === null || r.head_sha === null
        ? null
        : {
            branch: r.branch,
            headSha: r.head_sha,
            pullRequest:
              r.pr_number === null || r.pr_url === null
                ? null
                : { number: r.pr_number, url: r.pr_url },
          },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}
