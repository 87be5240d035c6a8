import type { Database, Statement } from 'better-sqlite3'
import { iso } from './open-sqlite-database.js'
import type { TaskRef, TestRun, TestRunState } from './store.js'

interface TestRunRow {
  id: number
  repo: string | null
  task_id: string
  head_sha: string
  check_run_id: number | null
  runner: string | null
  state: TestRunState
  conclusion: string | null
  summary: string | null
  report: string | null
  created_at: string
  completed_at: string | null
}

type Params = Record<string, string | number | null>

/** Test runs of the SQLite store. */
export class SqliteTestRuns {
  private readonly s: {
    insert: Statement<Params, TestRunRow>
    update: Statement<Params, TestRunRow>
    get: Statement<[number], TestRunRow>
    latest: Statement<Params, TestRunRow>
  }

  constructor(
    db: Database,
    private readonly now: () => number,
  ) {
    this.s = {
      insert: db.prepare(`INSERT INTO test_runs (repo, task_id, head_sha, check_run_id, state,
          created_at)
        VALUES (@repo, @taskId, @headSha, @checkRunId, 'queued', @now) RETURNING *`),
      // Fields not given keep their value (coalesce), so each step writes only what it learnt.
      update: db.prepare(`UPDATE test_runs SET state = @state,
          check_run_id = coalesce(@checkRunId, check_run_id), runner = coalesce(@runner, runner),
          conclusion = coalesce(@conclusion, conclusion), summary = coalesce(@summary, summary),
          report = coalesce(@report, report),
          completed_at = CASE WHEN @state = 'completed' THEN @now ELSE completed_at END
        WHERE id = @id RETURNING *`),
      get: db.prepare('SELECT * FROM test_runs WHERE id = ?'),
      latest: db.prepare(`SELECT * FROM test_runs WHERE ifnull(repo, '') = @scope
        AND task_id = @taskId ORDER BY id DESC LIMIT 1`),
    }
  }

  start(run: { task: TaskRef; headSha: string; checkRunId: number | null }): TestRun {
    const row = this.s.insert.get({
      repo: run.task.repo,
      taskId: run.task.id,
      headSha: run.headSha,
      checkRunId: run.checkRunId,
      now: iso(this.now()),
    })
    if (!row) throw new Error(`Recording a test run of ${run.task.id} returned no row`)
    return toTestRun(row)
  }

  update(
    id: number,
    change: {
      state: TestRunState
      checkRunId?: number
      runner?: string
      conclusion?: string
      summary?: Record<string, unknown>
      report?: unknown
    },
  ): TestRun | undefined {
    const row = this.s.update.get({
      id,
      state: change.state,
      checkRunId: change.checkRunId ?? null,
      runner: change.runner ?? null,
      conclusion: change.conclusion ?? null,
      summary: change.summary === undefined ? null : JSON.stringify(change.summary),
      report: change.report === undefined ? null : JSON.stringify(change.report),
      now: iso(this.now()),
    })
    return row && toTestRun(row)
  }

  get(id: number): TestRun | undefined {
    const row = this.s.get.get(id)
    return row && toTestRun(row)
  }

  latest(task: TaskRef): TestRun | undefined {
    const row = this.s.latest.get({ scope: task.repo ?? '', taskId: task.id })
    return row && toTestRun(row)
  }
}

function toTestRun(r: TestRunRow): TestRun {
  return {
    id: r.id,
    repo: r.repo,
    taskId: r.task_id,
    headSha: r.head_sha,
    checkRunId: r.check_run_id,
    runner: r.runner,
    state: r.state,
    conclusion: r.conclusion,
    summary: r.summary === null ? null : (JSON.parse(r.summary) as Record<string, unknown>),
    report: r.report === null ? null : (JSON.parse(r.report) as unknown),
    createdAt: r.created_at,
    completedAt: r.completed_at,
  }
}
