import type { Context } from 'probot'
import { type RepoRef, repoRefFrom } from '../github/repo-ref.js'
import type { Trigger } from './types.js'

type PushPayload = Context<'push'>['payload']

/** Payload of an `intake-push` job. */
export interface PushIntakePayload {
  installationId: number
  repo: RepoRef
  ref: string
  /** The pushed commit: manifests are read from it, and its check run reports the result. */
  sha: string
  commitUrl: string
  /** Files added or modified by the push and still present after it, in push order. */
  changedFiles: string[]
  requester: string
  requesterId?: number
}

/** Branches DevSys pushes itself: their commits are generated code, never new manifests. */
export const DEVSYS_BRANCH_PREFIX = 'refs/heads/devsys/'

/**
 * Lists the files a push leaves added or changed. A file added then removed within the same
 * push is gone from the pushed commit, so it is dropped.
 */
export function changedFilesOf(commits: PushPayload['commits']): string[] {
  const files = new Set<string>()
  for (const commit of commits) {
    for (const path of [...(commit.added ?? []), ...(commit.modified ?? [])]) files.add(path)
    for (const path of commit.removed ?? []) files.delete(path)
  }
  return [...files]
}

/** Decides whether a push may carry manifests; the job matches them against the configured globs. */
export function pushIntakeTrigger(payload: PushPayload): Trigger {
  const installationId = payload.installation?.id
  if (installationId === undefined) return { kind: 'ignore', reason: 'no-installation' }
  if (payload.deleted) return { kind: 'ignore', reason: 'ref-deleted' }
  if (!payload.ref.startsWith('refs/heads/')) return { kind: 'ignore', reason: 'not-a-branch' }
  if (payload.ref.startsWith(DEVSYS_BRANCH_PREFIX)) {
    return { kind: 'ignore', reason: 'devsys-branch' }
  }
  const changedFiles = changedFilesOf(payload.commits)
  if (changedFiles.length === 0) return { kind: 'ignore', reason: 'no-changed-files' }
  const { repository } = payload
  const job: PushIntakePayload = {
    installationId,
    repo: repoRefFrom(repository),
    ref: payload.ref,
    sha: payload.after,
    commitUrl: payload.head_commit?.url ?? payload.compare,
    changedFiles,
    requester: payload.sender?.login ?? payload.pusher.name,
    ...(payload.sender ? { requesterId: payload.sender.id } : {}),
  }
  return {
    kind: 'job',
    job: {
      kind: 'intake-push',
      key: `intake:${repository.full_name}@${payload.after}`,
      payload: job,
    },
  }
}
