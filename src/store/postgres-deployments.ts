import type { Pool } from 'pg'
import { iso } from './open-postgres-pool.js'
import type {
  Deployment,
  DeploymentChange,
  DeploymentCount,
  DeploymentFilter,
  DeploymentState,
  DeploymentTrigger,
  NewDeployment,
} from './store.js'

interface DeploymentRow {
  id: number
  repo: string
  environment: string
  task_id: string | null
  trigger: DeploymentTrigger
  actor: string
  commit_sha: string
  ref: string
  release_id: string | null
  state: DeploymentState
  bad: boolean
  verification: Record<string, unknown> | null
  rollback_of: number | null
  revert: Record<string, unknown> | null
  github_deployment_id: number | null
  url: string | null
  error: string | null
  job_id: string | null
  created_at: string
  finished_at: string | null
}

const COLUMNS = `id, repo, environment, task_id, trigger, actor, commit_sha, ref, release_id,
  state, bad, verification, rollback_of, revert, github_deployment_id, url, error, job_id,
  created_at, finished_at`

const TERMINAL: ReadonlySet<DeploymentState> = new Set([
  'success',
  'failure',
  'error',
  'rolled_back',
])

/** The deploy history of the PostgreSQL store. */
export class PostgresDeployments {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  async create(d: NewDeployment): Promise<Deployment> {
    const state = d.state ?? 'in_progress'
    const now = iso(this.now())
    const result = await this.pool.query<DeploymentRow>(
      `INSERT INTO deployments (repo, environment, task_id, trigger, actor, commit_sha, ref,
          release_id, state, rollback_of, job_id, created_at, finished_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
      [
        d.repo,
        d.environment,
        d.taskId,
        d.trigger,
        d.actor,
        d.commitSha,
        d.ref,
        d.releaseId ?? null,
        state,
        d.rollbackOf ?? null,
        d.jobId ?? null,
        now,
        TERMINAL.has(state) ? now : null,
      ],
    )
    const row = result.rows[0]
    if (!row) throw new Error(`Recording a deployment of ${d.repo} returned no row`)
    return toDeployment(row)
  }

  async update(id: number, change: DeploymentChange): Promise<Deployment | undefined> {
    const json = (value: Record<string, unknown> | undefined) =>
      value === undefined ? null : JSON.stringify(value)
    // Fields not given keep their value (coalesce), so each step writes only what it learnt.
    const result = await this.pool.query<DeploymentRow>(
      `UPDATE deployments SET state = coalesce($2, state),
          release_id = coalesce($3, release_id), bad = coalesce($4, bad),
          verification = coalesce($5::json, verification), revert = coalesce($6::json, revert),
          github_deployment_id = coalesce($7, github_deployment_id),
          url = coalesce($8, url), error = coalesce($9, error),
          finished_at = coalesce(finished_at, $10)
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        id,
        change.state ?? null,
        change.releaseId ?? null,
        change.bad ?? null,
        json(change.verification),
        json(change.revert),
        change.githubDeploymentId ?? null,
        change.url ?? null,
        change.error ?? null,
        change.state !== undefined && TERMINAL.has(change.state) ? iso(this.now()) : null,
      ],
    )
    const row = result.rows[0]
    return row && toDeployment(row)
  }

  async get(id: number): Promise<Deployment | undefined> {
    const result = await this.pool.query<DeploymentRow>(
      `SELECT ${COLUMNS} FROM deployments WHERE id = $1`,
      [id],
    )
    const row = result.rows[0]
    return row && toDeployment(row)
  }

  async list(filter: DeploymentFilter): Promise<Deployment[]> {
    // A null filter field matches everything (one statement for every combination).
    const result = await this.pool.query<DeploymentRow>(
      `SELECT ${COLUMNS} FROM deployments
        WHERE ($1::text IS NULL OR repo = $1)
          AND ($2::text IS NULL OR environment = $2)
          AND ($3::text IS NULL OR task_id = $3)
          AND ($4::text IS NULL OR state = $4)
          AND ($5::text IS NULL OR job_id = $5)
        ORDER BY id DESC LIMIT $6`,
      [
        filter.repo ?? null,
        filter.environment ?? null,
        filter.taskId ?? null,
        filter.state ?? null,
        filter.jobId ?? null,
        filter.limit ?? 100,
      ],
    )
    return result.rows.map(toDeployment)
  }

  async count(): Promise<DeploymentCount[]> {
    // count(*) is a bigint, which pg returns as a string: a history this size fits a number.
    const result = await this.pool.query<Omit<DeploymentCount, 'count'> & { count: string }>(
      `SELECT repo, environment, trigger, state, count(*) AS count
        FROM deployments GROUP BY repo, environment, trigger, state
        ORDER BY repo, environment, trigger, state`,
    )
    return result.rows.map((row) => ({ ...row, count: Number(row.count) }))
  }
}

function toDeployment(r: DeploymentRow): Deployment {
  return {
    id: r.id,
    repo: r.repo,
    environment: r.environment,
    taskId: r.task_id,
    trigger: r.trigger,
    actor: r.actor,
    commitSha: r.commit_sha,
    ref: r.ref,
    releaseId: r.release_id,
    state: r.state,
    bad: r.bad,
    verification: r.verification,
    rollbackOf: r.rollback_of,
    revert: r.revert,
    githubDeploymentId: r.github_deployment_id,
    url: r.url,
    error: r.error,
    jobId: r.job_id,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  }
}
