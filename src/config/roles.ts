/**
 * What one DevSys process does (DEVSYS_ROLE), so one image makes the receiver and the worker
 * pools: `receiver` serves webhooks and the manager API and enqueues; `worker` runs the jobs of
 * its queues (DEVSYS_QUEUES) and serves only a health check; `all` does both.
 */
export type Role = 'receiver' | 'worker' | 'all'

/** The queues, one per agent of the seed: coding, testing, deployment, monitoring. */
export const QUEUE_NAMES = ['generate', 'test', 'deploy', 'monitor'] as const
export type QueueName = (typeof QUEUE_NAMES)[number]

/**
 * The job kinds each queue's workers run; every kind is in exactly one queue. Intake reads a
 * manifest and queues its generation, so it stays with the coding agent. `pr-command` only reads
 * a comment, checks who wrote it and queues the job it names: it needs no agent, runner or
 * Docker, so it goes to the deployment workers, the smallest and least busy pool (deploys take
 * seconds), where a command is answered at once while generations and test runs fill their
 * pools; two of its commands (/deploy, /rollback) continue there anyway. `monitor` runs the
 * scheduled checks of DevSys itself rather than of a repository: `redeliver-failed` (failed
 * webhook deliveries asked of GitHub again) needs no runner and should not wait behind deploys,
 * and `monitor` (the live sites' checks and incidents) must not either; `notify` (a
 * notification sent to its destinations) likewise, and must not wait behind a generation or
 * test run to say that one finished.
 */
export const QUEUE_KINDS: Readonly<Record<QueueName, readonly string[]>> = {
  generate: ['intake-issue', 'intake-push', 'generate'],
  test: ['run-tests'],
  deploy: ['deploy', 'rollback', 'revert', 'pr-command'],
  monitor: ['redeliver-failed', 'monitor', 'notify'],
}

/** The job kinds a process serving `queues` runs. */
export function kindsOf(queues: readonly QueueName[]): string[] {
  return queues.flatMap((queue) => QUEUE_KINDS[queue])
}

/** Whether the role runs jobs, and whether it serves webhooks and the manager API. */
export function roleDoes(role: Role): { jobs: boolean; receive: boolean } {
  return { jobs: role !== 'receiver', receive: role !== 'worker' }
}

export type ParsedQueues = { ok: true; queues: QueueName[] } | { ok: false; bad: string[] }

/** DEVSYS_QUEUES: names separated by commas or spaces, each once, in the canonical order. */
export function parseQueues(text: string): ParsedQueues {
  const names = text.split(/[\s,]+/).filter((name) => name !== '')
  const known: readonly string[] = QUEUE_NAMES
  const bad = names.filter((name) => !known.includes(name))
  if (bad.length > 0) return { ok: false, bad }
  return { ok: true, queues: QUEUE_NAMES.filter((queue) => names.includes(queue)) }
}
