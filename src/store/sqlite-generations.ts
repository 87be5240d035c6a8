import type { Database, Statement } from 'better-sqlite3'
import { iso } from './open-sqlite-database.js'
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
  committed: number
  files: string
  test_run_id: number | null
  tests: string | null
  activity: string | null
  input_tokens: number | null
  output_tokens: number | null
  cached_input_tokens: number | null
  error: string | null
  duration_ms: number
}

type Params = Record<string, string | number | null>

/** Generations (self-fix loops) and their iterations, in the SQLite store. */
export class SqliteGenerations {
  private readonly s: {
    insert: Statement<Params, GenerationRow>
    finish: Statement<Params, GenerationRow>
    saveIteration: Statement<Params>
    list: Statement<Params, GenerationRow>
    iterations: Statement<[number], IterationRow>
  }

  constructor(
    db: Database,
    private readonly now: () => number,
  ) {
    this.s = {
      insert: db.prepare(`INSERT INTO generations (repo, task_id, generator, reason,
          max_iterations, budget_seconds, state, started_at)
        VALUES (@repo, @taskId, @generator, @reason, @maxIterations, @budgetSeconds, 'running',
          @now) RETURNING *`),
      finish: db.prepare(`UPDATE generations SET state = @state, stop_reason = @stopReason,
          head_sha = @headSha, finished_at = @now WHERE id = @id RETURNING *`),
      saveIteration: db.prepare(`INSERT OR REPLACE INTO generation_iterations (generation_id,
          iteration, head_sha, committed, files, test_run_id, tests, activity, input_tokens,
          output_tokens, cached_input_tokens, error, duration_ms)
        VALUES (@generationId, @iteration, @headSha, @committed, @files, @testRunId, @tests,
          @activity, @inputTokens, @outputTokens, @cachedInputTokens, @error, @durationMs)`),
      list: db.prepare(`SELECT * FROM generations WHERE ifnull(repo, '') = @scope
        AND task_id = @taskId ORDER BY id DESC LIMIT @limit`),
      iterations: db.prepare(
        'SELECT * FROM generation_iterations WHERE generation_id = ? ORDER BY iteration',
      ),
    }
  }

  start(g: {
    task: TaskRef
    generator: string
    reason: string
    maxIterations: number
    budgetSeconds: number
  }): Generation {
    const row = this.s.insert.get({
      repo: g.task.repo,
      taskId: g.task.id,
      generator: g.generator,
      reason: g.reason,
      maxIterations: g.maxIterations,
      budgetSeconds: g.budgetSeconds,
      now: iso(this.now()),
    })
    if (!row) throw new Error(`Recording a generation of ${g.task.id} returned no row`)
    return this.toGeneration(row)
  }

  saveIteration(generationId: number, it: GenerationIteration): void {
    const usage = it.activity?.usage
    this.s.saveIteration.run({
      generationId,
      iteration: it.iteration,
      headSha: it.headSha,
      committed: it.committed ? 1 : 0,
      files: JSON.stringify(it.files),
      testRunId: it.testRunId,
      tests: it.tests === null ? null : JSON.stringify(it.tests),
      activity: it.activity === null ? null : JSON.stringify(it.activity),
      inputTokens: usage?.inputTokens ?? null,
      outputTokens: usage?.outputTokens ?? null,
      cachedInputTokens: usage?.cachedInputTokens ?? null,
      error: it.error,
      durationMs: Math.round(it.durationMs),
    })
  }

  finish(
    id: number,
    end: { state: GenerationState; stopReason: string; headSha: string | null },
  ): Generation | undefined {
    const row = this.s.finish.get({ id, ...end, now: iso(this.now()) })
    return row && this.toGeneration(row)
  }

  list(task: TaskRef, limit = 20): Generation[] {
    return this.s.list
      .all({ scope: task.repo ?? '', taskId: task.id, limit })
      .map((row) => this.toGeneration(row))
  }

  private toGeneration(r: GenerationRow): Generation {
    const rows = this.s.iterations.all(r.id)
    const iterations = rows.map(toIteration)
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
      iterations,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    }
  }
}

function toIteration(r: IterationRow): GenerationIteration {
  return {
    iteration: r.iteration,
    headSha: r.head_sha,
    committed: r.committed === 1,
    files: JSON.parse(r.files) as string[],
    testRunId: r.test_run_id,
    tests: r.tests === null ? null : (JSON.parse(r.tests) as GenerationIteration['tests']),
    activity:
      r.activity === null ? null : (JSON.parse(r.activity) as GenerationIteration['activity']),
    error: r.error,
    durationMs: r.duration_ms,
  }
}

function sum(values: Array<number | null>): number {
  return values.reduce<number>((total, v) => total + (v ?? 0), 0)
}
