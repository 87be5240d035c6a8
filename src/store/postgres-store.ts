import type { Pool } from 'pg'
import { redactStore } from '../secrets/redact-store.js'
import { iso, openPostgresPool, type PostgresOptions } from './open-postgres-pool.js'
import { PostgresApiTokens } from './postgres-api-tokens.js'
import { PostgresAudit } from './postgres-audit.js'
import { PostgresDeployments } from './postgres-deployments.js'
import { PostgresGenerations } from './postgres-generations.js'
import { PostgresLocks } from './postgres-locks.js'
import { PostgresMonitor } from './postgres-monitor.js'
import { PostgresNotifications } from './postgres-notifications.js'
import { PostgresTasks } from './postgres-tasks.js'
import { PostgresTestRuns } from './postgres-test-runs.js'
import type {
  AcquireDeployLockResult,
  ApiToken,
  AuditEvent,
  AuditFilter,
  CreateApiTokenResult,
  DeployLock,
  DeployLockHolder,
  Deployment,
  DeploymentChange,
  DeploymentCount,
  DeploymentFilter,
  DisabledDestination,
  Generation,
  GenerationIteration,
  GenerationState,
  MonitorState,
  NewApiToken,
  NewAuditEvent,
  NewDeployment,
  NewNotificationDelivery,
  NewTask,
  NotificationChange,
  NotificationDelivery,
  NotificationFilter,
  SaveTaskResult,
  Store,
  Task,
  TaskCode,
  TaskRef,
  TaskStatus,
  TestRun,
} from './store.js'

export type PostgresStoreOptions = PostgresOptions

/**
 * Connects to DATABASE_URL, migrates the database (src/store/postgres-migrations.ts) and opens
 * the store over a connection pool. Every argument of every call is redacted of DevSys's
 * secrets before it is stored, as in the SQLite store. Queue state is not here.
 */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  const { pool, now, database } = await openPostgresPool(opts)
  return redactStore(new PostgresStore(pool, now, database))
}

/**
 * The Store on PostgreSQL, for several DevSys processes sharing one database: each change that
 * reads before it writes runs in a transaction with the rows it reads locked, and claims and
 * locks are single statements (INSERT … ON CONFLICT, UPDATE … WHERE … RETURNING).
 */
export class PostgresStore implements Store {
  private readonly tasks: PostgresTasks
  private readonly testRuns: PostgresTestRuns
  private readonly locks: PostgresLocks
  private readonly monitor: PostgresMonitor
  private readonly deployments: PostgresDeployments
  private readonly generations: PostgresGenerations
  private readonly notifications: PostgresNotifications
  private readonly auditLog: PostgresAudit
  private readonly apiTokens: PostgresApiTokens
  private closed = false

  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
    /** user@host:port/database, for logs (never the password). */
    readonly database: string,
  ) {
    this.auditLog = new PostgresAudit(pool, now)
    this.apiTokens = new PostgresApiTokens(pool, now)
    this.tasks = new PostgresTasks(pool, now, this.auditLog)
    this.testRuns = new PostgresTestRuns(pool, now)
    this.locks = new PostgresLocks(pool, now)
    this.monitor = new PostgresMonitor(pool, now)
    this.deployments = new PostgresDeployments(pool, now)
    this.generations = new PostgresGenerations(pool, now)
    this.notifications = new PostgresNotifications(pool, now)
  }

  async saveTask(task: NewTask): Promise<SaveTaskResult> {
    return this.tasks.save(task)
  }

  async getTask(ref: TaskRef): Promise<Task | undefined> {
    return this.tasks.get(ref)
  }

  async listTasks(filter?: { status?: TaskStatus; repo?: string; id?: string }): Promise<Task[]> {
    return this.tasks.list(filter)
  }

  async setTaskStatus(ref: TaskRef, status: TaskStatus, actor: string): Promise<Task | undefined> {
    return this.tasks.setStatus(ref, status, actor)
  }

  async setTaskCode(ref: TaskRef, code: TaskCode, actor: string): Promise<Task | undefined> {
    return this.tasks.setCode(ref, code, actor)
  }

  async findTaskByPullRequest(repo: string, number: number): Promise<Task | undefined> {
    return this.tasks.findByPullRequest(repo, number)
  }

  async startTestRun(run: { task: TaskRef; headSha: string; checkRunId: number | null }) {
    return this.testRuns.start(run)
  }

  async updateTestRun(id: number, change: Parameters<PostgresTestRuns['update']>[1]) {
    return this.testRuns.update(id, change)
  }

  async getTestRun(id: number): Promise<TestRun | undefined> {
    return this.testRuns.get(id)
  }

  async latestTestRun(task: TaskRef): Promise<TestRun | undefined> {
    return this.testRuns.latest(task)
  }

  async startGeneration(generation: Parameters<PostgresGenerations['start']>[0]) {
    return this.generations.start(generation)
  }

  async saveIteration(generationId: number, iteration: GenerationIteration): Promise<void> {
    await this.generations.saveIteration(generationId, iteration)
  }

  async finishGeneration(
    generationId: number,
    end: { state: Exclude<GenerationState, 'running'>; stopReason: string; headSha: string | null },
  ): Promise<Generation | undefined> {
    return this.generations.finish(generationId, end)
  }

  async listGenerations(task: TaskRef, limit?: number): Promise<Generation[]> {
    return this.generations.list(task, limit)
  }

  async claimComment(repo: string, commentId: number, jobId: string): Promise<boolean> {
    const claimed = await this.pool.query(
      `INSERT INTO handled_comments (repo, comment_id, job_id, handled_at)
        VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [repo, commentId, jobId, iso(this.now())],
    )
    if (claimed.rowCount === 1) return true
    // Claimed before: by this job (a retry goes on) or by another (a replayed delivery stops).
    const claimant = await this.pool.query<{ job_id: string }>(
      'SELECT job_id FROM handled_comments WHERE repo = $1 AND comment_id = $2',
      [repo, commentId],
    )
    return claimant.rows[0]?.job_id === jobId
  }

  async getCommentId(repo: string, issue: number, kind: string): Promise<number | undefined> {
    const result = await this.pool.query<{ comment_id: number }>(
      'SELECT comment_id FROM comments WHERE repo = $1 AND issue = $2 AND kind = $3',
      [repo, issue, kind],
    )
    return result.rows[0]?.comment_id
  }

  async setCommentId(repo: string, issue: number, kind: string, commentId: number) {
    await this.pool.query(
      `INSERT INTO comments (repo, issue, kind, comment_id) VALUES ($1, $2, $3, $4)
        ON CONFLICT (repo, issue, kind) DO UPDATE SET comment_id = excluded.comment_id`,
      [repo, issue, kind, commentId],
    )
  }

  async acquireDeployLock(
    env: string,
    owner: string,
    reason: string,
    ttlMs: number,
  ): Promise<AcquireDeployLockResult> {
    return this.locks.acquire(env, owner, reason, ttlMs)
  }

  async renewDeployLock(env: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.locks.renew(env, owner, ttlMs)
  }

  async releaseDeployLock(env: string, owner: string): Promise<boolean> {
    return this.locks.release(env, owner)
  }

  async listDeployLocks(): Promise<DeployLock[]> {
    return this.locks.list()
  }

  async createDeployment(deployment: NewDeployment): Promise<Deployment> {
    return this.deployments.create(deployment)
  }

  async updateDeployment(id: number, change: DeploymentChange): Promise<Deployment | undefined> {
    return this.deployments.update(id, change)
  }

  async getDeployment(id: number): Promise<Deployment | undefined> {
    return this.deployments.get(id)
  }

  async listDeployments(filter: DeploymentFilter = {}): Promise<Deployment[]> {
    return this.deployments.list(filter)
  }

  async countDeployments(): Promise<DeploymentCount[]> {
    return this.deployments.count()
  }

  async getDeployLock(env: string): Promise<DeployLockHolder | undefined> {
    return this.locks.holder(env)
  }

  async getMonitorState(repo: string, environment: string): Promise<MonitorState | undefined> {
    return this.monitor.get(repo, environment)
  }

  async listMonitorStates(): Promise<MonitorState[]> {
    return this.monitor.list()
  }

  async saveMonitorState(state: MonitorState): Promise<MonitorState | undefined> {
    return this.monitor.save(state)
  }

  async audit(event: NewAuditEvent): Promise<void> {
    await this.auditLog.append(event)
  }

  async listAudit(subject?: string): Promise<AuditEvent[]> {
    return this.auditLog.list(subject)
  }

  async queryAudit(filter: AuditFilter): Promise<AuditEvent[]> {
    return this.auditLog.query(filter)
  }

  async createApiToken(token: NewApiToken): Promise<CreateApiTokenResult> {
    return this.apiTokens.create(token)
  }

  async findApiTokenByHash(hash: string): Promise<ApiToken | undefined> {
    return this.apiTokens.findByHash(hash)
  }

  async listApiTokens(): Promise<ApiToken[]> {
    return this.apiTokens.list()
  }

  async revokeApiToken(id: number): Promise<ApiToken | undefined> {
    return this.apiTokens.revoke(id)
  }

  async touchApiToken(id: number): Promise<void> {
    await this.apiTokens.touch(id)
  }

  async claimNotification(delivery: NewNotificationDelivery): Promise<NotificationDelivery> {
    return this.notifications.claim(delivery)
  }

  async updateNotification(
    id: number,
    change: NotificationChange,
  ): Promise<NotificationDelivery | undefined> {
    return this.notifications.update(id, change)
  }

  async listNotifications(filter: NotificationFilter = {}): Promise<NotificationDelivery[]> {
    return this.notifications.list(filter)
  }

  async disableDestination(name: string, fingerprint: string, reason: string): Promise<void> {
    await this.notifications.disable(name, fingerprint, reason)
  }

  async enableDestination(name: string): Promise<void> {
    await this.notifications.enable(name)
  }

  async disabledDestination(
    name: string,
    fingerprint: string,
  ): Promise<DisabledDestination | undefined> {
    return this.notifications.disabled(name, fingerprint)
  }

  /** Closes the pool's connections; idempotent, so shutdown paths may call it more than once. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.pool.end()
  }
}
