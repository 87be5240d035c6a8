import type { Enqueue } from '../../app-deps.js'
import { formatDeployed } from '../../report/format-deploy.js'
import type { AuditStore, DeploymentStore } from '../../store/store.js'
import { startRevert } from '../start-revert.js'
import type { DeployTarget } from '../types.js'
import type { LockedWork } from '../with-environment-lock.js'
import { switchTo } from './switch.js'
import type { RecordedDeploy, ResolvedDeploy } from './types.js'
import type { Uploaded } from './upload.js'
import { type Verification, verificationRecord } from './verify.js'

/**
 * Switch back: the release failed its checks, so `current` goes straight back to the release
 * live before it (when there was one), the deploy is recorded as bad, and a merge is reverted
 * so that the default branch describes what is live. People hear of it once the lock is free.
 */
export async function switchBack(
  deps: { store: DeploymentStore & AuditStore; enqueue: Enqueue },
  p: ResolvedDeploy,
  run: RecordedDeploy & {
    target: Pick<DeployTarget, 'activate' | 'prune' | 'url'>
    uploaded: Uploaded
    verification: Verification
  },
): Promise<LockedWork> {
  const { environment, record, uploaded, verification } = run
  const { live, releaseId } = uploaded
  const back = live !== null && live !== releaseId ? live : null
  // No signal: a deploy stopped now must still leave the site on a release that passed.
  if (back !== null) await switchTo(run.target, back)
  await deps.store.updateDeployment(record, {
    state: 'failure',
    bad: true,
    verification: verificationRecord(verification),
    error: 'acceptance checks failed',
  })
  await deps.store.audit({
    actor: 'devsys',
    action: 'deploy.verification-failed',
    subject: `deployment:${record}`,
    target: { repo: p.repo.fullName, task: p.taskId ?? null, environment, release: releaseId },
    before: { release: releaseId },
    after: { release: back },
    result: 'failed',
    details: { environment, releaseId, switchedBackTo: back },
  })
  if (p.trigger === 'merge')
    await startRevert(
      deps.enqueue,
      p,
      record,
      environment,
      'The deploy failed its acceptance checks.',
      {
        switchedBack: back !== null,
      },
    )
  const report = async () => {
    await run.status(
      'failure',
      back === null
        ? 'Acceptance checks failed; nothing earlier to switch back to'
        : `Acceptance checks failed; switched back to ${back.slice(0, 7)}`,
    )
    const body = formatDeployed({
      environment,
      sha: p.sha,
      releaseId,
      url: run.target.url,
      upload: uploaded.upload,
      verification,
      switchedBackTo: back,
    })
    await run.answer(body, 'confused')
  }
  const summary = `${p.sha.slice(0, 7)} failed verification in ${environment}`
  return { outcome: { status: 'rejected', reason: 'verification-failed', summary }, report }
}
