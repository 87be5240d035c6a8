import type { Pool } from 'pg'
import { iso } from './open-postgres-pool.js'
import type { Generation, GenerationIteration, GenerationState, TaskRef } from './store.js'

interface GenerationRow {
  id: number
  repo: string | null
  task_id: string
  generator: string
  reason: string
  max_iterations: number
  budget_seconds: number
  state: GenerationState
  stop_reason: string | null
  head_sha: string | null
  started_at: string
  finished_at: string | null
}

interface IterationRow {
  generation_id: number
  iteration: number
  head_sha: string | null
  committed: boolean
  files: string[]
  test_run_id: number | null
  tests: GenerationIteration['tests']
  activity: GenerationIteration['activity']
  input_tokens: number | null
  output_tokens: number | null
  cached_input_tokens: number | null
  error: string | null
  duration_ms: number
}

const COLUMNS = `id, repo, task_id, generator, reason, max_iterations, budget_seconds, state,
  stop_reason, head_sha, started_at, finished_at`

/** Generations (self-fix loops) and their iterations, in the PostgreSQL store. */
export class PostgresGenerations {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  async start(g: {
    task: TaskRef
    generator: string
    reason: string
    maxIterations: number
    budgetSeconds: number
  }): Promise<Generation> {
    const result = await this.pool.query<GenerationRow>(
      `INSERT INTO generations (repo, task_id, generator, reason, max_iterations,
          budget_seconds, state, started_at)
        VALUES ($1, $2, $3, $4, $5, $6, 'running', $7) RETURNING ${COLUMNS}`,
      [
        g.task.repo,
        g.task.id,
        g.generator,
        g.reason,
        g.maxIterations,
        g.budgetSeconds,
        iso(this.now()),
      ],
    )
    const row = result.rows[0]
    if (!row) throw new Error(`Recording a generation of ${g.task.id} returned no row`)
    return (await this.withIterations([row]))[0] as Generation
  }

  /** Inserts the iteration, or replaces the one with its number. */
  async saveIteration(generationId: number, it: GenerationIteration): Promise<void> {
    const usage = it.activity?.usage
    await this.pool.query(
      `INSERT INTO generation_iterations (generation_id, iteration, head_sha, committed, files,
          test_run_id, tests, activity, input_tokens, output_tokens, cached_input_tokens, error,
          duration_ms)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (generation_id, iteration) DO UPDATE SET head_sha = excluded.head_sha,
          committed = excluded.committed, files = excluded.files,
          test_run_id = excluded.test_run_id, tests = excluded.tests,
          activity = excluded.activity, input_tokens = excluded.input_tokens,
          output_tokens = excluded.output_tokens,
          cached_input_tokens = excluded.cached_input_tokens, error = excluded.error,
          duration_ms = excluded.duration_ms`,
      [
        generationId,
        it.iteration,
        it.headSha,
        it.committed,
        JSON.stringify(it.files),
        it.testRunId,
        it.tests === null ? null : JSON.stringify(it.tests),
        it.activity === null ? null : JSON.stringify(it.activity),
        usage?.inputTokens ?? null,
        usage?.outputTokens ?? null,
        usage?.cachedInputTokens ?? null,
        it.error,
        Math.round(it.durationMs),
      ],
    )
  }

  async finish(
    id: number,
    end: { state: GenerationState; stopReason: string; headSha: string | null },
  ): Promise<Generation | undefined> {
    const result = await this.pool.query<GenerationRow>(
      `UPDATE generations SET state = $2, stop_reason = $3, head_sha = $4, finished_at = $5
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, end.state, end.stopReason, end.headSha, iso(this.now())],
    )
    return (await this.withIterations(result.rows))[0]
  }

  async list(task: TaskRef, limit = 20): Promise<Generation[]> {
    const result = await this.pool.query<GenerationRow>(
      `SELECT ${COLUMNS} FROM generations WHERE coalesce(repo, '') = $1 AND task_id = $2
        ORDER BY id DESC LIMIT $3`,
      [task.repo ?? '', task.id, limit],
    )
    return this.withIterations(result.rows)
  }

  /** The generations with their iterations, read in one query. */
  private async withIterations(rows: GenerationRow[]): Promise<Generation[]> {
    if (rows.length === 0) return []
    const result = await this.pool.query<IterationRow>(
      `SELECT * FROM generation_iterations WHERE generation_id = ANY($1::bigint[])
        ORDER BY generation_id, iteration`,
      [rows.map((r) => r.id)],
    )
    return rows.map((r) =>
      toGeneration(
        r,
        result.rows.filter((i) => i.generation_id === r.id),
      ),
    )
  }
}

function toGeneration(r: GenerationRow, rows: IterationRow[]): Generation {
  const reported = rows.filter((i) => i.input_tokens !== null || i.output_tokens !== null)
  return {
    id: r.id,
    repo: r.repo,
    taskId: r.task_id,
    generator: r.generator,
    reason: r.reason,
    maxIterations: r.max_iterations,
    budgetSeconds: r.budget_seconds,
    state: r.state,
    stopReason: r.stop_reason,
    headSha: r.head_sha,
    usage:
      reported.length === 0
        ? null
        : {
            inputTokens: sum(reported.map((i) => i.input_tokens)),
            outputTokens: sum(reported.map((i) => i.output_tokens)),
            cachedInputTokens: sum(reported.map((i) => i.cached_input_tokens)),
          },
    iterations: rows.map(toIteration),
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }
}

function toIteration(r: IterationRow): GenerationIteration {
  return {
    iteration: r.iteration,
    headSha: r.head_sha,
    committed: r.committed,
    files: r.files,
    testRunId: r.test_run_id,
    tests: r.tests,
    activity: r.activity,
    error: r.error,
    durationMs: r.duration_ms,
  }
}

function sum(values: Array<number | null>): number {
  return values.reduce<number>((total, v) => total + (v ?? 0), 0)
}
