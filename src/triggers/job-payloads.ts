import type { RepoRef } from '../github/repo-ref.js'
import type { TaskRef } from '../store/store.js'

/*
 * The payloads and keys of the jobs that triggers, intake, the manager API and other jobs start.
 * They live here, apart from the jobs in src/jobs/, so that pure code can build a job without
 * importing one (scripts/check-architecture.ts fails on a trigger importing src/jobs/).
 */

/** The repository a deploy reads from (and reverts on): the RepoRef every job payload carries. */
export type DeployRepo = RepoRef

/** A repository known only by name (manager API requests): the job asks GitHub for the rest. */
export type RepoName = Pick<RepoRef, 'owner' | 'name' | 'fullName'>

/** Payload of a `deploy` job: put one commit live in one environment (or show what would change). */
export interface DeployPayload {
  installationId: number
  repo: RepoRef | RepoName
  /** merge: a push to the default branch; command: `/deploy` on a PR; api: the manager API. */
  trigger: 'merge' | 'command' | 'api'
  /** null: the task manifest's `deploy.environment`, else production. */
  environment: string | null
  sha: string
  /** The branch holding `sha`: the default branch for merges, the PR's branch otherwise. */
  branch: string
  actor: string
  /** The task being deployed; for merges it is found from the merged pull request. */
  taskId: string | null
  dryRun: boolean
  /** The `/deploy` comment, answered on its PR. */
  command?: { pr: number; commentId: number }
}

/**
 * Merges to the default branch share one key per repository, so a burst of merges deploys the
 * newest only; each command or API request is its own job and meets the others at the lock.
 */
export function deployJobKey(
  payload: Pick<DeployPayload, 'repo' | 'trigger' | 'sha'>,
  id = '',
): string {
  return payload.trigger === 'merge'
    ? `deploy:${payload.repo.fullName}`
    : `deploy:${payload.repo.fullName}@${payload.sha}:${id}`
}

/** Payload of a `rollback` job: take a task's deploy out of an environment and revert it. */
export interface RollbackPayload {
  installationId: number
  repo: RepoRef | RepoName
  taskId: string
  /** null: the task manifest's `deploy.environment`, else production. */
  environment: string | null
  actor: string
  /** monitor: the monitor's auto-rollback (`monitor.autoRollback`), actor `devsys-monitor`. */
  trigger: 'command' | 'api' | 'monitor'
  /** The `/rollback` comment, answered on its PR. */
  command?: { pr: number; commentId: number }
}

/** One rollback per task at a time; the environment's lock orders it with deploys. */
export function rollbackJobKey(repo: string, taskId: string): string {
  return `rollback:${repo}:${taskId}`
}

/** Payload of a `revert` job: revert a commit that was rolled back, on the default branch. */
export interface RevertPayload {
  installationId: number
  repo: RepoRef
  /** The commit whose release failed verification or was rolled back. */
  sha: string
  /** The deployment of that commit (its `revert` field records the outcome). */
  deployment: number
  environment: string
  reason: string
  actor: string
  /**
   * false: the environment still serves the commit (nothing earlier to switch to, or later
   * deploys are live), so the revert's own deploy takes it out. Absent in older jobs: true.
   */
  switchedBack?: boolean
}

/** The check run DevSys reports a task's tests in. */
export const TESTS_CHECK = 'DevSys / tests'

/** Payload of a `run-tests` job: run the task's tests on one commit and report them. */
export interface RunTestsPayload {
  installationId: number
  taskId: string
  repo: RepoRef
  headSha: string
  /** The check run created (queued) when the run was asked for, if any. */
  checkRunId?: number
  reason: 'generated' | 'pushed' | 'rerequested' | 'command'
}

/** The job key: one test run per task at a time. */
export function testsJobKey(task: TaskRef): string {
  return `tests:${task.repo ?? ''}#${task.id}`
}

/** Payload of a `generate` job: (re)generate a task's code on its branch and open or update its PR. */
export interface GeneratePayload {
  installationId: number
  taskId: string
  repo: RepoRef
  reason: 'intake' | 'revise'
  feedback?: string
  requester: string
  requesterId?: number
  /** The `/revise` comment on the PR, reacted to when the job ends. */
  commentId?: number
}

/** The job key that serializes all code changes of one task. */
export function generateJobKey(task: TaskRef): string {
  return `generate:${task.repo ?? ''}#${task.id}`
}

/**
 * Payload of a `redeliver-failed` job. `scan` (the repeating schedule): list the app's recent
 * webhook deliveries and claim each failed one DevSys did not store. `delivery`: one claimed
 * delivery, asked of GitHub again; enqueued once per guid (see `redeliveryClaim`).
 */
export type RedeliverPayload =
  | { scan: true }
  | { delivery: { guid: string; attemptId: number; event: string; action: string | null } }

/** The scans' key: one scan at a time across all processes. */
export const REDELIVER_SCAN_KEY = 'redeliver-failed'

/**
 * The delivery id (and job key) a redelivery of `guid` is enqueued with: the queue records it
 * once, so a guid is redelivered at most once however many scans (and processes) find it failed.
 */
export function redeliveryClaim(guid: string): { id: string; event: string } {
  return { id: `redeliver:${guid}`, event: 'redeliver' }
}

/**
 * Payload of a `monitor` job. `sweep` (the repeating schedule): find the live environments
 * whose next check is due and enqueue one `check` each; `check`: check one environment.
 */
export type MonitorPayload = { sweep: true } | { check: { repo: string; environment: string } }

/** The sweep's key: one sweep at a time across all processes. */
export const MONITOR_SWEEP_KEY = 'monitor'

/** One check of an environment at a time, however many sweeps and workers ask for it. */
export function monitorCheckKey(repo: string, environment: string): string {
  return `monitor:${repo}:${environment}`
}

/** The monitor's auto-rollback of a deployment is enqueued with this delivery: once, ever. */
export function monitorRollbackClaim(deployment: number): { id: string; event: string } {
  return { id: `monitor-rollback:${deployment}`, event: 'monitor' }
}
