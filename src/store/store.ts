/**
 * The store port: every durable record DevSys keeps except queue state, which the queue owns.
 * Implemented by SQLite (embedded default); built from configuration by src/store/create-store.ts.
 */

import type { ApiToken, CreateApiTokenResult, NewApiToken } from './api-token-records.js'
import type { AuditEvent, AuditFilter, NewAuditEvent } from './audit-records.js'
import type {
  Deployment,
  DeploymentChange,
  DeploymentCount,
  DeploymentFilter,
  DeploymentState,
  DeploymentTrigger,
  NewDeployment,
} from './deployment-records.js'
import type { Generation, GenerationIteration, GenerationState } from './generation-records.js'
import type {
  MonitorFailure,
  MonitorState,
  MonitorStatus,
  PendingAlert,
} from './monitor-records.js'
import type {
  DisabledDestination,
  NewNotificationDelivery,
  NotificationChange,
  NotificationDelivery,
  NotificationFilter,
  NotificationStatus,
} from './notification-records.js'

export type { ApiRole, ApiToken, CreateApiTokenResult, NewApiToken } from './api-token-records.js'
export { API_ROLES } from './api-token-records.js'
export type {
  AuditEvent,
  AuditFilter,
  AuditTarget,
  AuditVia,
  NewAuditEvent,
} from './audit-records.js'
export { AUDIT_VIA } from './audit-records.js'

export type TaskSourceKind = 'issue' | 'push' | 'api'

export const TASK_STATUSES = [
  'pending',
  'in_progress',
  'blocked',
  'done',
  'failed',
  'cancelled',
] as const
export type TaskStatus = (typeof TASK_STATUSES)[number]

export interface TaskSource {
  kind: TaskSourceKind
  /** 'owner/name' for issue and push sources; null for API tasks not tied to a repository. */
  repo: string | null
  /** Issue number for issue sources. */
  issue?: number
  /** Commit sha for push sources (and the ref it was pushed to). */
  commit?: string
  ref?: string
  /** Manifest file path, for push sources and issues that name a file. */
  path?: string
  /** Stable identity of the source: a task id may only be reused by the same source. */
  key: string
  /** GitHub login or API token role that asked for the task. */
  requester: string
  /** The requester's GitHub user id, for the commit's Co-authored-by trailer. */
  requesterId?: number
  /** Web link to the issue or commit, taken from the payload (never built from github.com). */
  url?: string
  installationId?: number
}

/**
 * Names a task: its id is unique within its repository ('owner/name'; null for API tasks made
 * without one), never across repositories, so every lookup says which repository it means.
 */
export interface TaskRef {
  repo: string | null
  id: string
}

export interface Task {
  id: string
  /** The repository the task belongs to (`source.repo`): its id is unique only there. */
  repo: string | null
  title: string
  status: TaskStatus
  source: TaskSource
  /** The manifest as the user wrote it (original text). */
  manifestText: string
  /** The normalized task spec (YAML) embedding the validated manifest. */
  spec: string
  revision: number
  /** The task's generated code: branch, last pushed commit and pull request (null until generated). */
  code: TaskCode | null
  createdAt: string
  updatedAt: string
}

export interface TaskCode {
  branch: string
  headSha: string
  pullRequest: { number: number; url: string } | null
}

export interface NewTask {
  id: string
  title: string
  source: TaskSource
  manifestText: string
  spec: string
}

export type SaveTaskResult =
  | { kind: 'created'; task: Task }
  | { kind: 'updated'; task: Task }
  | { kind: 'unchanged'; task: Task }
  /** The id already belongs to a task from another source; nothing was written. */
  | { kind: 'conflict'; existing: Task }

export type TestRunState = 'queued' | 'in_progress' | 'completed'

/** One run of a task's tests, as reported in its `DevSys / tests` check run. */
export interface TestRun {
  id: number
  repo: string | null
  taskId: string
  headSha: string
  checkRunId: number | null
  runner: string | null
  state: TestRunState
  /** The check run's conclusion once completed (success, failure, timed_out, …). */
  conclusion: string | null
  /** Counts and the reason shown to people, e.g. { tests, passed, failed, …, reason }. */
  summary: Record<string, unknown> | null
  /** The parsed JUnit report (null when there was none). */
  report: unknown
  createdAt: string
  completedAt: string | null
}

/** The audit subject of a task's events: `listAudit(taskSubject(ref))` is its history. */
export function taskSubject(ref: TaskRef): string {
  return `task:${ref.repo ?? ''}#${ref.id}`
}

/** Who holds an environment's deploy lock, for the "a deploy is already running" reply. */
export interface DeployLockHolder {
  owner: string
  reason: string
  acquiredAt: string
  expiresAt: string
}

/** A held deploy lock: the environment (`owner/repo:env`) and its holder. */
export interface DeployLock extends DeployLockHolder {
  env: string
}

export type AcquireDeployLockResult =
  | { acquired: true }
  | { acquired: false; holder: DeployLockHolder }

export type {
  Deployment,
  DeploymentChange,
  DeploymentCount,
  DeploymentFilter,
  DeploymentState,
  DeploymentTrigger,
  DisabledDestination,
  Generation,
  GenerationIteration,
  GenerationState,
  MonitorFailure,
  MonitorState,
  MonitorStatus,
  NewDeployment,
  NewNotificationDelivery,
  NotificationChange,
  NotificationDelivery,
  NotificationFilter,
  NotificationStatus,
  PendingAlert,
}

/*
 * The store is split into the parts jobs use; each job takes only the parts it needs (for
 * example `TaskStore & AuditStore`), so tests pass small fakes and a second implementation is
 * checked part by part (test/contracts/).
 */

/** Tasks: what each manifest asked for, where its code is, and its status. */
export interface TaskStore {
  /** Creates or updates the task `task.id` of `task.source.repo`; ids of other repos never clash. */
  saveTask(task: NewTask): Promise<SaveTaskResult>
  getTask(ref: TaskRef): Promise<Task | undefined>
  /** Tasks newest first; `id` finds the tasks with that id in every repository. */
  listTasks(filter?: { status?: TaskStatus; repo?: string; id?: string }): Promise<Task[]>
  setTaskStatus(ref: TaskRef, status: TaskStatus, actor: string): Promise<Task | undefined>
  /** Records where the task's generated code is (branch, pushed commit, PR); audited. */
  setTaskCode(ref: TaskRef, code: TaskCode, actor: string): Promise<Task | undefined>
  /** The task whose pull request is `number` in `repo` ('owner/name'). */
  findTaskByPullRequest(repo: string, number: number): Promise<Task | undefined>
}

/** Test runs: each run of a task's tests, as reported in its `DevSys / tests` check run. */
export interface TestRunStore {
  startTestRun(run: { task: TaskRef; headSha: string; checkRunId: number | null }): Promise<TestRun>
  updateTestRun(
    id: number,
    change: {
      state: TestRunState
      checkRunId?: number
      runner?: string
      conclusion?: string
      summary?: Record<string, unknown>
      report?: unknown
    },
  ): Promise<TestRun | undefined>
  getTestRun(id: number): Promise<TestRun | undefined>
  /** The task's newest test run, in any state. */
  latestTestRun(task: TaskRef): Promise<TestRun | undefined>
}

/** Generations: the self-fix loop's iterations, with the agent's activity and token usage. */
export interface GenerationStore {
  startGeneration(generation: {
    task: TaskRef
    generator: string
    reason: string
    maxIterations: number
    budgetSeconds: number
  }): Promise<Generation>
  /** Writes iteration `iteration.iteration` of the generation (inserted, or replaced). */
  saveIteration(generationId: number, iteration: GenerationIteration): Promise<void>
  finishGeneration(
    generationId: number,
    end: { state: Exclude<GenerationState, 'running'>; stopReason: string; headSha: string | null },
  ): Promise<Generation | undefined>
  /** The task's generations, newest first, each with its iterations. */
  listGenerations(task: TaskRef, limit?: number): Promise<Generation[]>
}

/** Comments: which job handles a command comment, and the sticky comments DevSys edits in place. */
export interface CommentStore {
  /**
   * Records that job `jobId` handles a command comment (GitHub's comment id, in 'owner/name').
   * False when another job claimed it first: a replayed delivery of the same comment (a new
   * delivery id, so a new job) does nothing, while retries of the claiming job go on.
   */
  claimComment(repo: string, commentId: number, jobId: string): Promise<boolean>
  // Sticky comments: one DevSys comment per (repo, issue, kind), edited in place.
  getCommentId(repo: string, issue: number, kind: string): Promise<number | undefined>
  setCommentId(repo: string, issue: number, kind: string, commentId: number): Promise<void>
}

/** Deploy locks: one deploy at a time per environment, with an owner, a reason and an expiry. */
export interface LockStore {
  /** Takes the environment's lock when free or expired; otherwise says who holds it. */
  acquireDeployLock(
    env: string,
    owner: string,
    reason: string,
    ttlMs: number,
  ): Promise<AcquireDeployLockResult>
  /** Extends the lock to now + ttlMs; false when `owner` no longer holds it. */
  renewDeployLock(env: string, owner: string, ttlMs: number): Promise<boolean>
  /** Frees the lock; only its owner can (false otherwise, nothing written). */
  releaseDeployLock(env: string, owner: string): Promise<boolean>
  /** Who holds the environment's lock now; undefined when it is free or expired. */
  getDeployLock(env: string): Promise<DeployLockHolder | undefined>
  /** Every lock row, held or expired but not yet taken over, by environment (for the dashboard). */
  listDeployLocks(): Promise<DeployLock[]>
}

/** Deployments: the deploy history of every environment. */
export interface DeploymentStore {
  createDeployment(deployment: NewDeployment): Promise<Deployment>
  /** Writes the fields given; a terminal state also sets finishedAt. */
  updateDeployment(id: number, change: DeploymentChange): Promise<Deployment | undefined>
  getDeployment(id: number): Promise<Deployment | undefined>
  /** Deployments matching every field of the filter, newest first. */
  listDeployments(filter?: DeploymentFilter): Promise<Deployment[]>
  /** The whole history counted per repository, environment, trigger and state (for /metrics). */
  countDeployments(): Promise<DeploymentCount[]>
}

/** Monitoring: per repository and environment, the checks' streaks and the open incident. */
export interface MonitorStore {
  getMonitorState(repo: string, environment: string): Promise<MonitorState | undefined>
  /** Every environment's state, for the sweep that finds which are due. */
  listMonitorStates(): Promise<MonitorState[]>
  /**
   * Writes `state` if the stored revision is still `state.revision` (0: none stored yet) and
   * returns it with the next revision; undefined when another writer saved first (nothing
   * written), so two checks can never both send the same alert.
   */
  saveMonitorState(state: MonitorState): Promise<MonitorState | undefined>
}

/**
 * The audit log: every state change, who made it, append-only. There is deliberately no way to
 * change or remove a record here, and the databases refuse UPDATE and DELETE on it too.
 */
export interface AuditStore {
  audit(event: NewAuditEvent): Promise<void>
  /** Records oldest first, all or of one subject. */
  listAudit(subject?: string): Promise<AuditEvent[]>
  /** Records matching the filter, newest first. */
  queryAudit(filter: AuditFilter): Promise<AuditEvent[]>
}

/** Named manager API tokens, kept by the hash of the token (never the token). */
export interface ApiTokenStore {
  createApiToken(token: NewApiToken): Promise<CreateApiTokenResult>
  /** The token with this hash, revoked and expired ones included (the caller says why not). */
  findApiTokenByHash(hash: string): Promise<ApiToken | undefined>
  /** Every token, oldest first, revoked ones included. */
  listApiTokens(): Promise<ApiToken[]>
  /** Marks the token revoked (once: a second revoke keeps the first time); undefined if none. */
  revokeApiToken(id: number): Promise<ApiToken | undefined>
  /** Records that the token was just used. */
  touchApiToken(id: number): Promise<void>
}

/** Notifications: one delivery per (event, destination), and destinations their receiver disabled. */
export interface NotificationStore {
  /**
   * Records the delivery of an event to a destination once: the row already there for the pair
   * (whatever its status) is returned unchanged, so a retried or redelivered job sends nothing twice.
   */
  claimNotification(delivery: NewNotificationDelivery): Promise<NotificationDelivery>
  /** Writes an attempt's result (attempts + 1 unless `attempted: false`). */
  updateNotification(
    id: number,
    change: NotificationChange,
  ): Promise<NotificationDelivery | undefined>
  /** Deliveries matching every field of the filter, newest first. */
  listNotifications(filter?: NotificationFilter): Promise<NotificationDelivery[]>
  /** Marks a destination disabled for these settings (its receiver answered 410). */
  disableDestination(name: string, fingerprint: string, reason: string): Promise<void>
  /** Enables a destination again (a test send it accepted). */
  enableDestination(name: string): Promise<void>
  /** Whether the destination with these settings is disabled; other settings are not. */
  disabledDestination(name: string, fingerprint: string): Promise<DisabledDestination | undefined>
}

/**
 * Every part, as one implementation (SQLite) provides them. Queue state (jobs, deliveries) is
 * not here: the queue owns it (src/queue/queue.ts).
 */
export interface Store
  extends TaskStore,
    TestRunStore,
    GenerationStore,
    CommentStore,
    LockStore,
    DeploymentStore,
    MonitorStore,
    AuditStore,
    NotificationStore,
    ApiTokenStore {
  close(): Promise<void>
}
