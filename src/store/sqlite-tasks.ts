import type { Database, Statement } from 'better-sqlite3'
import { iso } from './open-sqlite-database.js'
import type { SqliteAudit } from './sqlite-audit.js'
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
  source: string
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

type Params = Record<string, string | number | null>

/** Tasks and the audit trail of the SQLite store: every task change writes its audit event in the same transaction. */
export class SqliteTasks {
  private readonly s: {
    get: Statement<Params, TaskRow>
    insert: Statement<Params, TaskRow>
    update: Statement<Params, TaskRow>
    setStatus: Statement<Params, TaskRow>
    setCode: Statement<Params, TaskRow>
    byPullRequest: Statement<Params, TaskRow>
    list: Statement<Params, TaskRow>
  }
  private readonly saveTx: (task: NewTask) => SaveTaskResult
  private readonly setStatusTx: (
    ref: TaskRef,
    status: TaskStatus,
    actor: string,
  ) => Task | undefined
  private readonly setCodeTx: (ref: TaskRef, code: TaskCode, actor: string) => Task | undefined

  constructor(
    db: Database,
    private readonly now: () => number,
    /** Task changes write their audit events in their own transaction. */
    readonly audit: SqliteAudit,
  ) {
    this.s = {
      // ifnull(repo, '') is the scope of tasks_repo_id: API tasks without a repo share ''.
      get: db.prepare(`SELECT * FROM tasks WHERE ifnull(repo, '') = @scope AND id = @id`),
      insert: db.prepare(`INSERT INTO tasks (id, title, status, source, source_key, repo,
          manifest_text, spec, revision, created_at, updated_at)
        VALUES (@id, @title, 'pending', @source, @sourceKey, @repo, @manifestText, @spec, 1,
          @now, @now)
        RETURNING *`),
      update: db.prepare(`UPDATE tasks SET title = @title, source = @source,
          manifest_text = @manifestText, spec = @spec, revision = revision + 1, updated_at = @now
        WHERE ifnull(repo, '') = @scope AND id = @id RETURNING *`),
      setStatus: db.prepare(`UPDATE tasks SET status = @status, updated_at = @now
        WHERE ifnull(repo, '') = @scope AND id = @id RETURNING *`),
      // rowid breaks ties between tasks created in the same millisecond.
      setCode: db.prepare(`UPDATE tasks SET branch = @branch, head_sha = @headSha,
          pr_number = @prNumber, pr_url = @prUrl, updated_at = @now
        WHERE ifnull(repo, '') = @scope AND id = @id RETURNING *`),
      byPullRequest: db.prepare('SELECT * FROM tasks WHERE repo = @repo AND pr_number = @number'),
      list: db.prepare(`SELECT * FROM tasks
        WHERE (@status IS NULL OR status = @status) AND (@repo IS NULL OR repo = @repo)
          AND (@id IS NULL OR id = @id)
        ORDER BY created_at DESC, rowid DESC`),
    }
    const save = db.transaction((task: NewTask) => this.saveIn(task))
    this.saveTx = (task) => save.immediate(task)
    const setStatus = db.transaction((ref: TaskRef, status: TaskStatus, actor: string) =>
      this.setStatusIn(ref, status, actor),
    )
    this.setStatusTx = (ref, status, actor) => setStatus.immediate(ref, status, actor)
    const setCode = db.transaction((ref: TaskRef, code: TaskCode, actor: string) =>
      this.setCodeIn(ref, code, actor),
    )
    this.setCodeTx = (ref, code, actor) => setCode.immediate(ref, code, actor)
  }

  save(task: NewTask): SaveTaskResult {
    return this.saveTx(task)
  }

  private saveIn(task: NewTask): SaveTaskResult {
    const now = iso(this.now())
    const ref: TaskRef = { repo: task.source.repo, id: task.id }
    const existing = this.s.get.get(key(ref))
    const params = {
      ...key(ref),
      title: task.title,
      source: JSON.stringify(task.source),
      repo: task.source.repo,
      manifestText: task.manifestText,
      spec: task.spec,
      now,
    }
    if (!existing) {
      const row = must(this.s.insert.get({ ...params, sourceKey: task.source.key }), task.id)
      this.auditIn(task.source.requester, 'task.created', ref, {
        revision: 1,
        source: task.source.kind,
      })
      return { kind: 'created', task: toTask(row) }
    }
    // A task id is only ever reused by the source that created it (the same issue or file of
    // the same repository); anything else is a collision the caller must report, not an
    // overwrite. Tasks of other repositories are never seen here.
    if (existing.source_key !== task.source.key) {
      return { kind: 'conflict', existing: toTask(existing) }
    }
    if (existing.manifest_text === task.manifestText && existing.spec === task.spec) {
      return { kind: 'unchanged', task: toTask(existing) }
    }
    const row = must(this.s.update.get(params), task.id)
    this.auditIn(task.source.requester, 'task.updated', ref, {
      revision: row.revision,
      source: task.source.kind,
    })
    return { kind: 'updated', task: toTask(row) }
  }

  get(ref: TaskRef): Task | undefined {
    const row = this.s.get.get(key(ref))
    return row && toTask(row)
  }

  list(filter: { status?: TaskStatus; repo?: string; id?: string } = {}): Task[] {
    return this.s.list
      .all({ status: filter.status ?? null, repo: filter.repo ?? null, id: filter.id ?? null })
      .map(toTask)
  }

  setStatus(ref: TaskRef, status: TaskStatus, actor: string): Task | undefined {
    return this.setStatusTx(ref, status, actor)
  }

  private setStatusIn(ref: TaskRef, status: TaskStatus, actor: string): Task | undefined {
    const before = this.s.get.get(key(ref))
    if (!before) return undefined
    // Not a state change, so no audit event: the trail stays a list of real transitions.
    if (before.status === status) return toTask(before)
    const row = must(this.s.setStatus.get({ ...key(ref), status, now: iso(this.now()) }), ref.id)
    this.auditIn(
      actor,
      'task.status',
      ref,
      { from: before.status, to: status },
      {
        before: { status: before.status },
        after: { status },
      },
    )
    return toTask(row)
  }

  setCode(ref: TaskRef, code: TaskCode, actor: string): Task | undefined {
    return this.setCodeTx(ref, code, actor)
  }

  private setCodeIn(ref: TaskRef, code: TaskCode, actor: string): Task | undefined {
    const row = this.s.setCode.get({
      ...key(ref),
      branch: code.branch,
      headSha: code.headSha,
      prNumber: code.pullRequest?.number ?? null,
      prUrl: code.pullRequest?.url ?? null,
      now: iso(this.now()),
    })
    if (!row) return undefined
    this.auditIn(actor, 'task.code', ref, { ...code })
    return toTask(row)
  }

  findByPullRequest(repo: string, number: number): Task | undefined {
    const row = this.s.byPullRequest.get({ repo, number })
    return row && toTask(row)
  }

  private auditIn(
    actor: string,
    action: string,
    ref: TaskRef,
    details: Record<string, unknown>,
    change: { before?: unknown; after?: unknown } = {},
  ) {
    this.audit.append({
      actor,
      action,
      subject: taskSubject(ref),
      target: { repo: ref.repo, task: ref.id },
      details,
      ...change,
    })
  }
}

/** The statement parameters naming a task: its repository scope and its id. */
function key(ref: TaskRef): { scope: string; id: string } {
  return { scope: ref.repo ?? '', id: ref.id }
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
    source: JSON.parse(r.source) as TaskSource,
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
