import type { Enqueue } from '../app-deps.js'
import type { Task } from '../store/store.js'
import { type GeneratePayload, generateJobKey } from '../triggers/job-payloads.js'

/**
 * Queues the generation of an accepted task's code, unless nothing changed and its code already
 * exists. Returns whether a generation was queued.
 */
export async function startGeneration(
  enqueue: Enqueue,
  task: Task,
  result: 'created' | 'updated' | 'unchanged',
  from: Pick<GeneratePayload, 'installationId' | 'repo' | 'requester' | 'requesterId'>,
): Promise<boolean> {
  if (result === 'unchanged' && task.code !== null) return false
  const payload: GeneratePayload = {
    installationId: from.installationId,
    taskId: task.id,
    repo: from.repo,
    reason: 'intake',
    requester: from.requester,
    ...(from.requesterId === undefined ? {} : { requesterId: from.requesterId }),
  }
  await enqueue({ kind: 'generate', key: generateJobKey(task), payload })
  return true
}
