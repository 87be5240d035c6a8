import type { Pool } from 'pg'
import { iso } from './open-postgres-pool.js'
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
  summary: Record<string, unknown> | null
  report: unknown
  created_at: string
  completed_at: string | null
}

const COLUMNS = `id, repo, task_id, head_sha, check_run_id, runner, state, conclusion, summary,
  report, created_at, completed_at`

/** Test runs of the PostgreSQL store. */
export class PostgresTestRuns {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  async start(run: {
    task: TaskRef
    headSha: string
    checkRunId: number | null
  }): Promise<TestRun> {
    const result = await this.pool.query<TestRunRow>(
      `INSERT INTO test_runs (repo, task_id, head_sha, check_run_id, state, created_at)
        VALUES ($1, $2, $3, $4, 'queued', $5) RETURNING ${COLUMNS}`,
      [run.task.repo, run.task.id, run.headSha, run.checkRunId, iso(this.now())],
    )
    const row = result.rows[0]
    if (!row) throw new Error(`Recording a test run of ${run.task.id} returned no row`)
    return toTestRun(row)
  }

  async update(
    id: number,
    change: {
      state: TestRunState
      checkRunId?: number
      runner?: string
      conclusion?: string
      summary?: Record<string, unknown>
      report?: unknown
    },
  ): Promise<TestRun | undefined> {
    // Fields not given keep their value (coalesce), so each step writes only what it learnt.
    const result = await this.pool.query<TestRunRow>(
      `UPDATE test_runs SET state = $2,
          check_run_id = coalesce($3, check_run_id), runner = coalesce($4, runner),
          conclusion = coalesce($5, conclusion), summary = coalesce($6::json, summary),
          report = coalesce($7::json, report),
          completed_at = CASE WHEN $2 = 'completed' THEN $8::timestamptz ELSE completed_at END
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        id,
        change.state,
        change.checkRunId ?? null,
        change.runner ?? null,
        change.conclusion ?? null,
        change.summary === undefined ? null : JSON.stringify(change.summary),
        change.report === undefined ? null : JSON.stringify(change.report),
        iso(this.now()),
      ],
    )
    const row = result.rows[0]
    return row && toTestRun(row)
  }

  async get(id: number): Promise<TestRun | undefined> {
    const result = await this.pool.query<TestRunRow>(
      `SELECT ${COLUMNS} FROM test_runs WHERE id = $1`,
      [id],
    )
    const row = result.rows[0]
    return row && toTestRun(row)
  }

  async latest(task: TaskRef): Promise<TestRun | undefined> {
    const result = await this.pool.query<TestRunRow>(
      `SELECT ${COLUMNS} FROM test_runs WHERE coalesce(repo, '') = $1 AND task_id = $2
        ORDER BY id DESC LIMIT 1`,
      [task.repo ?? '', task.id],
    )
    const row = result.rows[0]
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
    summary: r.summary,
    report: r.report,
    createdAt: r.created_at,
    completedAt: r.completed_at,
  }
}
