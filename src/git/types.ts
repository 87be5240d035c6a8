import type { Logger } from 'pino'
import type { SimpleGit } from 'simple-git'

/** Where a task's repository lives and how to reach it. */
export interface RepoRef {
  /** 'owner/name', used for the mirror cache path and locks. */
  fullName: string
  /** The clone URL as GitHub reports it in payloads (https://…, or a local path in tests). */
  cloneUrl: string
  defaultBranch: string
}

/** Who the commit is by: the app's bot, with the requester credited in a trailer. */
export interface CommitIdentity {
  name: string
  email: string
  /** `Co-authored-by: Name <email>` trailers to add, e.g. the requester. */
  coAuthors: Array<{ name: string; email: string }>
}

/** Credentials for one git operation, kept out of .git/config, logs, errors and the store. */
export interface GitAuth {
  /** Installation access token, sent as an HTTP Authorization header through the environment. */
  token: string
}

/** A job's own temporary clone, checked out on its branch; removed when the job's callback ends. */
export interface Workspace {
  /** The clone's working tree, a fresh directory under the workspaces' tmpDir. */
  dir: string
  /** The branch checked out, e.g. `devsys/<task-id>`. */
  branch: string
  /** The commit the branch started from here: the remote branch's tip, or the default branch's. */
  baseSha: string
  /** Whether `branch` already existed on the remote when the workspace was made. */
  branchExisted: boolean
  /** simple-git bound to `dir`, with a clean environment and no credentials. */
  git: SimpleGit
  /** The repository the workspace was cloned from (its `origin` is `repo.cloneUrl`). */
  repo: RepoRef
  /** Logger bound to the repository and branch. */
  log: Logger
  /** The job's abort signal, also honoured by commitChanges and pushBranch. */
  signal?: AbortSignal
}
