import type { Enqueue } from '../app-deps.js'
import type { DeployRepo, RevertPayload } from '../triggers/job-payloads.js'

/**
 * Queues the revert that brings the default branch back to what is live: after a deploy that
 * failed verification (switch back) and after `/rollback`.
 */
export async function startRevert(
  enqueue: Enqueue,
  p: { installationId: number; repo: DeployRepo; sha: string; actor: string },
  deployment: number,
  environment: string,
  reason: string,
  /** Whether the environment was switched off the commit already (else its revert's deploy does). */
  opts: { switchedBack: boolean },
): Promise<void> {
  const payload: RevertPayload = {
    installationId: p.installationId,
    repo: p.repo,
    sha: p.sha,
    deployment,
    environment,
    reason,
    actor: p.actor,
    switchedBack: opts.switchedBack,
  }
  await enqueue({ kind: 'revert', key: `revert:${p.repo.fullName}@${p.sha}`, payload })
}
