import type { Database, Statement } from 'better-sqlite3'
import { iso } from './open-sqlite-database.js'
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
  bad: number
  verification: string | null
  rollback_of: number | null
  revert: string | null
  github_deployment_id: number | null
  url: string | null
  error: string | null
  job_id: string | null
  created_at: string
  finished_at: string | null
}

type Params = Record<string, string | number | null>

const TERMINAL: ReadonlySet<DeploymentState> = new Set([
  'success',
  'failure',
  'error',
  'rolled_back',
])

/** The deploy history of the SQLite store. */
export class SqliteDeployments {
  private readonly s: {
    insert: Statement<Params, DeploymentRow>
    update: Statement<Params, DeploymentRow>
    get: Statement<[number], DeploymentRow>
    list: Statement<Params, DeploymentRow>
    count: Statement<[], DeploymentCount>
  }

  constructor(
    db: Database,
    private readonly now: () => number,
  ) {
    this.s = {
      insert: db.prepare(`INSERT INTO deployments (repo, environment, task_id, trigger, actor,
          commit_sha, ref, release_id, state, rollback_of, job_id, created_at, finished_at)
        VALUES (@repo, @environment, @taskId, @trigger, @actor, @commitSha, @ref, @releaseId,
          @state, @rollbackOf, @jobId, @now, @finishedAt) RETURNING *`),
      // Fields not given keep their value (coalesce), so each step writes only what it learnt.
      update: db.prepare(`UPDATE deployments SET state = coalesce(@state, state),
          release_id = coalesce(@releaseId, release_id), bad = coalesce(@bad, bad),
          verification = coalesce(@verification, verification), revert = coalesce(@revert, revert),
          github_deployment_id = coalesce(@githubDeploymentId, github_deployment_id),
          url = coalesce(@url, url), error = coalesce(@error, error),
          finished_at = coalesce(finished_at, @finishedAt)
        WHERE id = @id RETURNING *`),
      get: db.prepare('SELECT * FROM deployments WHERE id = ?'),
      // A null filter field matches everything (one statement for every combination).
      list: db.prepare(`SELECT * FROM deployments
        WHERE (@repo IS NULL OR repo = @repo)
          AND (@environment IS NULL OR environment = @environment)
          AND (@taskId IS NULL OR task_id = @taskId)
          AND (@state IS NULL OR state = @state)
          AND (@jobId IS NULL OR job_id = @jobId)
        ORDER BY id DESC LIMIT @limit`),
      count: db.prepare(`SELECT repo, environment, trigger, state, count(*) AS count
        FROM deployments GROUP BY repo, environment, trigger, state
        ORDER BY repo, environment, trigger, state`),
    }
  }

  create(d: NewDeployment): Deployment {
    const state = d.state ?? 'in_progress'
    const now = iso(this.now())
    const row = this.s.insert.get({
      repo: d.repo,
      environment: d.environment,
      taskId: d.taskId,
      trigger: d.trigger,
      actor: d.actor,
      commitSha: d.commitSha,
      ref: d.ref,
      releaseId: d.releaseId ?? null,
      state,
      rollbackOf: d.rollbackOf ?? null,
      jobId: d.jobId ?? null,
      now,
      finishedAt: TERMINAL.has(state) ? now : null,
    })
    if (!row) throw new Error(`Recording a deployment of ${d.repo} returned no row`)
    return toDeployment(row)
  }

  update(id: number, change: DeploymentChange): Deployment | undefined {
    const json = (value: Record<string, unknown> | undefined) =>
      value === undefined ? null : JSON.stringify(value)
    const row = this.s.update.get({
      id,
      state: change.state ?? null,
      releaseId: change.releaseId ?? null,
      bad: change.bad === undefined ? null : change.bad ? 1 : 0,
      verification: json(change.verification),
      revert: json(change.revert),
      githubDeploymentId: change.githubDeploymentId ?? null,
      url: change.url ?? null,
      error: change.error ?? null,
      finishedAt: change.state !== undefined && TERMINAL.has(change.state) ? iso(this.now()) : null,
    })
    return row && toDeployment(row)
  }

  get(id: number): Deployment | undefined {
    const row = this.s.get.get(id)
    return row && toDeployment(row)
  }

  list(filter: DeploymentFilter): Deployment[] {
    return this.s.list
      .all({
        repo: filter.repo ?? null,
        environment: filter.environment ?? null,
        taskId: filter.taskId ?? null,
        state: filter.state ?? null,
        jobId: filter.jobId ?? null,
        limit: filter.limit ?? 100,
      })
      .map(toDeployment)
  }

  count(): DeploymentCount[] {
    return this.s.count.all()
  }
}

function toDeployment(r: DeploymentRow): Deployment {
  const json = (text: string | null) =>
    text === null ? null : (JSON.parse(text) as Record<string, unknown>)
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
    bad: r.bad === 1,
    verification: json(r.verification),
    rollbackOf: r.rollback_of,
    revert: json(r.revert),
    githubDeploymentId: r.github_deployment_id,
    url: r.url,
    error: r.error,
    jobId: r.job_id,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  }
}
