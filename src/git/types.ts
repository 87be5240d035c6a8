import type { Logger } from 'pino'
import type { SimpleGit } from 'simple-git'
import type { RepoRef } from '../github/repo-ref.js'

/**
 * The part of a repository's RepoRef that git needs: the clone URL, the 'owner/name' that keys
 * the mirror cache and its lock, and the default branch a new branch starts from.
 */
export type GitRepo = Pick<RepoRef, 'fullName' | 'cloneUrl' | 'defaultBranch'>

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
  repo: GitRepo
  /** Logger bound to the repository and branch. */
  log: Logger
  /** The job's abort signal, also honoured by commitChanges and pushBranch. */
  signal?: AbortSignal
}
