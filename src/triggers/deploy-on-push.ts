import type { Context } from 'probot'
import { repoRefFrom } from '../github/repo-ref.js'
import { type DeployPayload, deployJobKey } from './job-payloads.js'
import type { Trigger } from './types.js'

type PushPayload = Context<'push'>['payload']

const NO_COMMIT = /^0+$/

/**
 * A push to the default branch (a merged pull request, or a revert DevSys pushed) deploys the
 * pushed commit to production. The job decides whether the repository is one DevSys deploys.
 */
export function deployOnPushTrigger(payload: PushPayload): Trigger {
  const installationId = payload.installation?.id
  if (installationId === undefined) return { kind: 'ignore', reason: 'no-installation' }
  const repo = repoRefFrom(payload.repository)
  if (payload.ref !== `refs/heads/${repo.defaultBranch}`) {
    return { kind: 'ignore', reason: 'not-the-default-branch' }
  }
  if (payload.deleted || NO_COMMIT.test(payload.after)) {
    return { kind: 'ignore', reason: 'ref-deleted' }
  }
  const job: DeployPayload = {
    installationId,
    repo,
    trigger: 'merge',
    environment: null,
    sha: payload.after,
    branch: repo.defaultBranch,
    actor: payload.sender?.login ?? payload.pusher.name,
    taskId: null,
    dryRun: false,
  }
  return { kind: 'job', job: { kind: 'deploy', key: deployJobKey(job), payload: job } }
}
