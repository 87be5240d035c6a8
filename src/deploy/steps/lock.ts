import type { Logger } from 'pino'
import type { GitHubClient } from '../../app-deps.js'
import type { Outcome } from '../../queue/types.js'
import type { CommentStore, DeploymentStore, LockStore, Task } from '../../store/store.js'
import type { DeployPayload } from '../../triggers/job-payloads.js'
import { closeOpenDeployments } from '../close-open-deployments.js'
import { type LockedWork, withEnvironmentLock } from '../with-environment-lock.js'
import type { ResolvedDeploy } from './types.js'

/**
 * Lock: runs the rest of the deploy holding the environment's lock (see withEnvironmentLock).
 * Holding it, nothing else deploys there, so a deploy record still open was left by a dead
 * process: it is closed first.
 */
export async function lockEnvironment(
  held: {
    github: GitHubClient
    deps: {
      store: LockStore & DeploymentStore & CommentStore
      lockTtlMs?: number
      lockWaitMs?: number
    }
    p: ResolvedDeploy
    task: Task | undefined
    environment: string
    jobId: string
    signal: AbortSignal
    log: Logger
  },
  fn: (signal: AbortSignal) => Promise<LockedWork>,
): Promise<Outcome> {
  const { github, deps, p, environment, log } = held
  return withEnvironmentLock({ ...held, reason: lockReason(p) }, async (signal) => {
    await closeOpenDeployments(github, deps.store, p.repo, { environment }, log)
    return fn(signal)
  })
}

/** What a second deploy is told about this one while it holds the lock. */
function lockReason(p: DeployPayload): string {
  const origin =
    p.trigger === 'merge'
      ? 'merge'
      : p.trigger === 'api'
        ? 'manager API'
        : `/deploy on #${p.command?.pr ?? '?'}`
  return `deploy of ${p.sha.slice(0, 7)} for @${p.actor} (${origin})`
}
