import { setTimeout as sleep } from 'node:timers/promises'
import type { GitHubClient } from '../app-deps.js'
import type { Outcome } from '../queue/types.js'
import { answerDeploy } from '../report/answer-deploy.js'
import { DEPLOY_BUSY_COMMENT } from '../report/comment-kinds.js'
import { formatLocked } from '../report/format-deploy.js'
import type { CommentStore, DeployLockHolder, LockStore, Task } from '../store/store.js'
import { withDeployLock } from './with-deploy-lock.js'

/** How long a command waits for a lock held by another deploy before answering "busy". */
export const DEFAULT_LOCK_WAIT_MS = 30_000
/** First and longest pause between attempts to take a held lock. */
const FIRST_PAUSE_MS = 250
const MAX_PAUSE_MS = 5_000

/**
 * What a deploy or rollback did while holding the lock, and how to tell people about it: the
 * report runs after the lock is released, so a command sent as soon as GitHub shows the result
 * finds the environment free.
 */
export interface LockedWork {
  outcome: Outcome
  report?: () => Promise<void>
}

/** The lock (and job) key of an environment: environments are per repository. */
export function environmentKey(repo: string, environment: string): string {
  return `${repo}:${environment}`
}

/**
 * Runs fn holding the environment's deploy lock (owner `job:<id>`, always released), then its
 * report. When another deploy holds the lock, a merge is retried by the queue (it must land
 * eventually); a command or API request tries again with growing pauses for up to `waitMs`
 * (a lock is often held only for a deploy's last seconds), then is answered with who holds it.
 */
export async function withEnvironmentLock(
  held: {
    github: GitHubClient
    deps: { store: LockStore & CommentStore; lockTtlMs?: number; lockWaitMs?: number }
    p: {
      repo: { owner: string; name: string; fullName: string }
      command?: { pr: number; commentId: number } | undefined
      trigger: string
    }
    task: Task | undefined
    environment: string
    jobId: string
    reason: string
    /** The command a refused user sends again (default `/deploy`). */
    retryWith?: string
    signal: AbortSignal
  },
  fn: (signal: AbortSignal) => Promise<LockedWork>,
): Promise<Outcome> {
  const { deps, p, environment } = held
  const waitUntil =
    Date.now() + (p.trigger === 'merge' ? 0 : (deps.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS))
  let pause = FIRST_PAUSE_MS
  let holder: DeployLockHolder
  for (;;) {
    const locked = await withDeployLock(
      deps.store,
      environmentKey(p.repo.fullName, environment),
      `job:${held.jobId}`,
      held.reason,
      fn,
      { signal: held.signal, ...(deps.lockTtlMs === undefined ? {} : { ttlMs: deps.lockTtlMs }) },
    )
    if (locked.kind === 'done') {
      await locked.value.report?.()
      return locked.value.outcome
    }
    holder = locked.holder
    if (Date.now() + pause > waitUntil) break
    await sleep(pause, undefined, { signal: held.signal })
    pause = Math.min(pause * 2, MAX_PAUSE_MS)
  }
  if (p.trigger === 'merge') throw new Error(`${environment} is busy: ${holder.reason}`)
  await answerDeploy(
    held.github,
    deps,
    p,
    held.task,
    formatLocked(environment, holder, held.retryWith),
    'confused',
    DEPLOY_BUSY_COMMENT,
  )
  return {
    status: 'rejected',
    reason: 'locked',
    summary: `${environment} held by ${holder.owner}`,
  }
}
