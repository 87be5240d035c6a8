/** The deploy history's records: one per deploy or rollback of an environment. */

export type DeploymentTrigger = 'merge' | 'command' | 'api' | 'rollback'
export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'rolled_back'

/** One deploy (or rollback) of an environment, as the deploy history lists it. */
export interface Deployment {
  id: number
  /** 'owner/name'. */
  repo: string
  environment: string
  taskId: string | null
  trigger: DeploymentTrigger
  /** GitHub login (or `manager-api`) that asked for it; `devsys` for automatic ones. */
  actor: string
  commitSha: string
  ref: string
  /** The release (git tree id) deployed; null until the commit was read. */
  releaseId: string | null
  /**
   * in_progress, then success (it went live and passed verification), failure (it did not go
   * live, or failed verification and was switched back), error (DevSys stopped mid-deploy) or
   * rolled_back (it was live until a rollback).
   */
  state: DeploymentState
  /** The release failed verification or was rolled back. */
  bad: boolean
  /** The acceptance result (ok, per-check outcome), null when not verified. */
  verification: Record<string, unknown> | null
  /** For rollbacks: the deployment that was rolled back. */
  rollbackOf: number | null
  /** The revert of the bad commit: pushed to the default branch or opened as a pull request. */
  revert: Record<string, unknown> | null
  githubDeploymentId: number | null
  url: string | null
  /** Why it failed, in words for people (never a secret). */
  error: string | null
  jobId: string | null
  createdAt: string
  finishedAt: string | null
}

export interface NewDeployment {
  repo: string
  environment: string
  taskId: string | null
  trigger: DeploymentTrigger
  actor: string
  commitSha: string
  ref: string
  releaseId?: string | null
  rollbackOf?: number | null
  /** Recorded in a terminal state straight away (a rollback is one switch). */
  state?: DeploymentState
  /** The job doing it, so that a job that dies can close what it left open. */
  jobId?: string | null
}

export interface DeploymentChange {
  state?: DeploymentState
  releaseId?: string
  bad?: boolean
  verification?: Record<string, unknown>
  revert?: Record<string, unknown>
  githubDeploymentId?: number
  url?: string
  error?: string
}

export interface DeploymentFilter {
  /** Task ids are per repository: filter by `taskId` together with `repo`. */
  repo?: string
  environment?: string
  taskId?: string
  state?: DeploymentState
  jobId?: string
  /** Newest first; default 100. */
  limit?: number
}

/** How many deploy history records one environment has of one trigger and state. */
export interface DeploymentCount {
  repo: string
  environment: string
  trigger: DeploymentTrigger
  state: DeploymentState
  count: number
}
