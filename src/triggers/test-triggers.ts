import type { Context } from 'probot'
import { repoRefFrom } from '../github/repo-ref.js'
import type { RunTestsPayload } from './job-payloads.js'
import type { Trigger } from './types.js'

/** The check run name DevSys owns for tests (duplicated from the job so triggers stay pure). */
const TESTS_CHECK = 'DevSys / tests'
const DEVSYS_BRANCH = /^devsys\/([a-z0-9][a-z0-9-]{0,62})$/

function testsJob(payload: RunTestsPayload): Trigger {
  return {
    kind: 'job',
    job: { kind: 'run-tests', key: `tests:${payload.repo.fullName}#${payload.taskId}`, payload },
  }
}

/**
 * `check_run.rerequested` on DevSys's tests check: run the task's tests again on that commit.
 * The task is the check run's `external_id`.
 */
export function checkRerunTrigger(payload: Context<'check_run.rerequested'>['payload']): Trigger {
  const installationId = payload.installation?.id
  if (installationId === undefined) return { kind: 'ignore', reason: 'no-installation' }
  const { check_run: check, repository } = payload
  if (check.name !== TESTS_CHECK) return { kind: 'ignore', reason: 'not-devsys-tests' }
  if (!check.external_id) return { kind: 'ignore', reason: 'no-task' }
  return testsJob({
    installationId,
    taskId: check.external_id,
    repo: repoRefFrom(repository),
    headSha: check.head_sha,
    reason: 'rerequested',
  })
}

/**
 * `pull_request.synchronize` on a DevSys branch pushed by a person: test the new head. DevSys's
 * own pushes are tested by the job that made them, so bot pushes are ignored here.
 */
export function prPushTrigger(payload: Context<'pull_request.synchronize'>['payload']): Trigger {
  const installationId = payload.installation?.id
  if (installationId === undefined) return { kind: 'ignore', reason: 'no-installation' }
  if (payload.sender.type === 'Bot') return { kind: 'ignore', reason: 'pushed-by-a-bot' }
  const { pull_request: pr, repository } = payload
  const match = DEVSYS_BRANCH.exec(pr.head.ref)
  if (!match?.[1]) return { kind: 'ignore', reason: 'not-a-devsys-branch' }
  // A fork's branch may be named devsys/… too: never run code from a fork.
  if (pr.head.repo?.full_name !== repository.full_name)
    return { kind: 'ignore', reason: 'from-a-fork' }
  return testsJob({
    installationId,
    taskId: match[1],
    repo: repoRefFrom(repository),
    headSha: pr.head.sha,
    reason: 'pushed',
  })
}
