import type { DeploymentStore } from '../store/store.js'
import type { Notify } from './events.js'
import { deployEnded, rolledBack } from './state-events.js'

/**
 * Publishes how the deploy or rollback job `jobId` ended, from its newest record: a deploy that
 * succeeded or failed, or a rollback done. Nothing when it recorded none (a dry run, a lock it
 * never got, a rollback that only queued a revert) or when the record is still open.
 */
export async function publishDeployEnd(
  deps: { store: Pick<DeploymentStore, 'listDeployments'>; notify?: Notify | undefined },
  p: { repo: { fullName: string }; installationId: number },
  jobId: string,
): Promise<void> {
  if (deps.notify === undefined) return
  const [record] = await deps.store.listDeployments({ repo: p.repo.fullName, jobId, limit: 1 })
  if (record === undefined || record.state === 'in_progress') return
  if (record.trigger === 'rollback') {
    if (record.state === 'success') await deps.notify(rolledBack(record, p.installationId))
    return
  }
  await deps.notify(deployEnded(record, p.installationId))
}
