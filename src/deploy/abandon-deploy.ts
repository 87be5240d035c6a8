import type { Logger } from 'pino'
import type { GitHubClient } from '../app-deps.js'
import { answerDeploy } from '../report/answer-deploy.js'
import { formatStopComment } from '../report/format-intake.js'
import type { CommentStore, DeploymentStore, LockStore, TaskStore } from '../store/store.js'
import type { DeployPayload } from '../triggers/job-payloads.js'
import { closeOpenDeployments } from './close-open-deployments.js'
import { environmentKey } from './with-environment-lock.js'

/**
 * After a deploy job failed for good: a job that died mid-deploy left its record open and its
 * lock held, so the record is closed (on GitHub too) and the lock freed now rather than when
 * it expires. People are told on the /deploy's PR, or for a merge on its task's PR when the
 * record names it.
 */
export async function abandonDeploy(
  github: GitHubClient,
  deps: { store: DeploymentStore & LockStore & TaskStore & CommentStore },
  payload: DeployPayload,
  error: string,
  job: { id: string; log: Logger },
): Promise<void> {
  const { store } = deps
  const closed = await closeOpenDeployments(github, store, payload.repo, { jobId: job.id }, job.log)
  for (const d of closed) {
    await store.releaseDeployLock(
      environmentKey(payload.repo.fullName, d.environment),
      `job:${job.id}`,
    )
  }
  const taskId = payload.taskId ?? closed.find((d) => d.taskId !== null)?.taskId ?? null
  const task =
    taskId === null ? undefined : await store.getTask({ repo: payload.repo.fullName, id: taskId })
  const message = `${error}\n\nDevSys gave up after retrying. The site serves a complete release (a release only goes live whole); see the deploy history for which one.`
  await answerDeploy(
    github,
    deps,
    payload,
    task,
    formatStopComment(`DevSys could not deploy ${payload.sha.slice(0, 7)}`, message),
    'confused',
  )
}
