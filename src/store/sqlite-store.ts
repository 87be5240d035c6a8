import type { Database as Db, Statement, Transaction } from 'better-sqlite3'
import { redactStore } from '../secrets/redact-store.js'
import { openSqliteDatabase, type SqliteOptions } from './open-sqlite-database.js'
import { SqliteApiTokens } from './sqlite-api-tokens.js'
import { SqliteAudit } from './sqlite-audit.js'
import { SqliteDeployments } from './sqlite-deployments.js'
import { SqliteGenerations } from './sqlite-generations.js'
import { SqliteLocks } from './sqlite-locks.js'
import { SqliteMonitor } from './sqlite-monitor.js'
import { SqliteNotifications } from './sqlite-notifications.js'
import { SqliteTasks } from './sqlite-tasks.js'
import { SqliteTestRuns } from './sqlite-test-runs.js'
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

export type SqliteStoreOptions = SqliteOptions

/**
 * Opens (creating and migrating as needed) the SQLite store, in WAL mode. Every argument of
 * every call is redacted of DevSys's secrets before it is stored (src/secrets/redact-store.ts).
 * The queue's state (jobs, deliveries) lives in the same file but is opened by the queue
 * (src/queue/sqlite-job-store.ts), not reached through the store.
 */
export function openSqliteStore(opts: SqliteStoreOptions): SqliteStore {
  const { db, now, path } = openSqliteDatabase(opts, 'store')
  // Whatever a job stores (test output, generator output, errors) passes one redaction.
  return redactStore(new SqliteStore(db, now, path))
}

/**
 * The embedded Store. Methods are async to match the port (a Postgres store will be truly
 * async); the SQLite work inside is synchronous, so each call is atomic with respect to the
 * other calls of this process.
 */
export class SqliteStore implements Store {
  private readonly tasks: SqliteTasks
  private readonly testRuns: SqliteTestRuns
  private readonly locks: SqliteLocks
  private readonly monitor: SqliteMonitor
  private readonly deployments: SqliteDeployments
  private readonly generations: SqliteGenerations
  private readonly notifications: SqliteNotifications
  private readonly auditLog: SqliteAudit
  private readonly apiTokens: SqliteApiTokens
  private readonly comments: {
    get: Statement<[string, number, string], { comment_id: number }>
    set: Statement<[string, number, string, number]>
  }
  private readonly claimComments: Transaction<
    (repo: string, commentId: number, jobId: string) => string | undefined
  >

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    /** The database file, for logs and for tools that inspect it. */
    readonly path: string,
  ) {
    this.auditLog = new SqliteAudit(db, now)
    this.apiTokens = new SqliteApiTokens(db, now)
    this.tasks = new SqliteTasks(db, now, this.auditLog)
    this.testRuns = new SqliteTestRuns(db, now)
    this.locks = new SqliteLocks(db, now)
    this.monitor = new SqliteMonitor(db, now)
    this.deployments = new SqliteDeployments(db, now)
    this.generations = new SqliteGenerations(db, now)
    this.notifications = new SqliteNotifications(db, now)
    this.comments = {
      get: db.prepare('SELECT comment_id FROM comments WHERE repo = ? AND issue = ? AND kind = ?'),
      set: db.prepare(`INSERT INTO comments (repo, issue, kind, comment_id) VALUES (?, ?, ?, ?)
        ON CONFLICT (repo, issue, kind) DO UPDATE SET comment_id = excluded.comment_id`),
    }
    const claim = db.prepare<[string, number, string, string]>(`INSERT INTO handled_comments
      (repo, comment_id, job_id, handled_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`)
    const claimant = db.prepare<[string, number], { job_id: string }>(
      'SELECT job_id FROM handled_comments WHERE repo = ? AND comment_id = ?',
    )
    this.claimComments = db.transaction((repo: string, commentId: number, jobId: string) => {
      claim.run(repo, commentId, jobId, new Date(this.now()).toISOString())
      return claimant.get(repo, commentId)?.job_id
    })
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

  async updateTestRun(id: number, change: Parameters<SqliteTestRuns['update']>[1]) {
    return this.testRuns.update(id, change)
  }

  async getTestRun(id: number): Promise<TestRun | undefined> {
    return this.testRuns.get(id)
  }

  async latestTestRun(task: TaskRef): Promise<TestRun | undefined> {
    return this.testRuns.latest(task)
  }

  async startGeneration(generation: Parameters<SqliteGenerations['start']>[0]) {
    return this.generations.start(generation)
  }

  async saveIteration(generationId: number, iteration: GenerationIteration): Promise<void> {
    this.generations.saveIteration(generationId, iteration)
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
    const claimed = this.claimComments.immediate(repo, commentId, jobId)
    return claimed === jobId
  }

  async getCommentId(repo: string, issue: number, kind: string): Promise<number | undefined> {
    return this.comments.get.get(repo, issue, kind)?.comment_id
  }

  async setCommentId(repo: string, issue: number, kind: string, commentId: number) {
    this.comments.set.run(repo, issue, kind, commentId)
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
    this.auditLog.append(event)
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
    this.apiTokens.touch(id)
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

  /** Closes the database; idempotent, so shutdown paths may call it more than once. */
  async close(): Promise<void> {
    if (!this.db.open) return
    this.db.close()
  }
}
