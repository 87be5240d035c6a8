import { formatDeployFailed } from '../../report/format-deploy.js'
import type { DeploymentStore } from '../../store/store.js'
import { isExpectedFailure } from '../is-expected-failure.js'
import { DeployError } from '../types.js'
import type { LockedWork } from '../with-environment-lock.js'
import type { RecordedDeploy, ResolvedDeploy } from './types.js'

/**
 * Fail: a step after `record` threw. The record and the GitHub deployment are always closed;
 * an expected failure (target, commit, files) becomes an outcome that says why, anything else
 * is thrown again and retried as a new deployment.
 */
export async function failDeploy(
  error: unknown,
  store: DeploymentStore,
  p: Pick<ResolvedDeploy, 'sha'>,
  run: RecordedDeploy,
): Promise<LockedWork> {
  const expected = isExpectedFailure(error)
  const message = error instanceof Error ? error.message : String(error)
  await store.updateDeployment(run.record, {
    state: expected ? 'failure' : 'error',
    error: message,
  })
  await run.status(expected ? 'failure' : 'error', message).catch((statusError: unknown) => {
    run.log.warn(
      { err: statusError },
      'could not close the GitHub deployment; the next deploy of this environment does',
    )
  })
  if (!expected) throw error
  const report = () => run.answer(formatDeployFailed(run.environment, p.sha, message), 'confused')
  const reason = error instanceof DeployError ? error.code : 'deploy-failed'
  return { outcome: { status: 'rejected', reason, summary: message }, report }
}
