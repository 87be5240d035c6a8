/**
 * The events of DevSys's state changes, built from the records that changed: each id names the
 * change (a task revision, a PR number, a test run, a deployment), so publishing it again from a
 * retried or redelivered job is the same event.
 */
import { createHash } from 'node:crypto'
import type { Acceptance } from '../intake/accept-manifest.js'
import type { Deployment, Task, TestRun } from '../store/store.js'
import { type NotificationEvent, notificationEvent } from './events.js'

/**
 * The event of a manifest's intake: task.accepted for a task created or changed, task.rejected
 * for a manifest refused; none for one unchanged.
 */
export function acceptanceEvent(
  where: { repo: string; installationId: number; source: string; url?: string | undefined },
  change: string,
  acceptance: Acceptance,
): NotificationEvent | undefined {
  if (acceptance.kind !== 'saved') return taskRejected(where, change, acceptance.problems)
  if (acceptance.result === 'unchanged') return undefined
  return taskAccepted(acceptance.task, acceptance.result)
}

/** A task a manifest created or changed (revision `task.revision`). */
export function taskAccepted(task: Task, result: 'created' | 'updated'): NotificationEvent {
  return notificationEvent('task.accepted', subjectOf(task), `${task.id}@${task.revision}`, {
    title: `Task ${task.id} ${result === 'created' ? 'accepted' : 'updated'}: ${task.title}`,
    url: task.source.url ?? null,
    details: { revision: task.revision, requester: task.source.requester },
  })
}

/** Names a text by its content, for the id of a change that has no other name. */
export function textDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}

/**
 * A manifest refused; `change` names what was refused (the commit and path of a pushed file, or
 * the issue and a digest of its text), so each refusal is told once.
 */
export function taskRejected(
  where: { repo: string; installationId: number; source: string; url?: string | undefined },
  change: string,
  problems: ReadonlyArray<{ message: string }>,
): NotificationEvent {
  return notificationEvent(
    'task.rejected',
    { repo: where.repo, installationId: where.installationId },
    change,
    {
      title: `Manifest in ${where.source} refused: ${problems.length} problem(s)`,
      url: where.url ?? null,
      details: { first: problems[0]?.message ?? null },
    },
  )
}

/** The task's pull request, once per PR. */
export function prOpened(task: Task, pr: { number: number; url: string }): NotificationEvent {
  return notificationEvent('pr.opened', subjectOf(task), `#${pr.number}`, {
    title: `Pull request #${pr.number} for task ${task.id}`,
    url: pr.url,
    details: { task: task.title },
  })
}

/** A completed test run: passed when its check run succeeded, failed otherwise. */
export function testsCompleted(
  run: TestRun | undefined,
  where: { installationId: number; url?: string | null },
): NotificationEvent | undefined {
  if (run === undefined || run.state !== 'completed') return undefined
  const passed = run.conclusion === 'success'
  const counts = run.summary ?? {}
  const number = (key: string) => (typeof counts[key] === 'number' ? (counts[key] as number) : null)
  return notificationEvent(
    passed ? 'tests.passed' : 'tests.failed',
    { repo: run.repo ?? '', installationId: where.installationId, task: run.taskId },
    `run-${run.id}`,
    {
      title: `Tests of ${run.taskId} ${passed ? 'passed' : 'failed'} at ${run.headSha.slice(0, 7)}`,
      url: where.url ?? null,
      details: {
        conclusion: run.conclusion,
        tests: number('tests'),
        failed: number('failed'),
        commit: run.headSha,
      },
    },
  )
}

/** A deploy that ended: succeeded (live and verified) or failed (not live, or switched back). */
export function deployEnded(deployment: Deployment, installationId: number): NotificationEvent {
  const ok = deployment.state === 'success'
  return notificationEvent(
    ok ? 'deploy.succeeded' : 'deploy.failed',
    subjectOfDeployment(deployment, installationId),
    `deployment-${deployment.id}`,
    {
      title: `${deployment.taskId ?? deployment.repo} ${ok ? 'deployed to' : 'failed to deploy to'} ${deployment.environment}`,
      url: deployment.url,
      details: {
        commit: deployment.commitSha,
        trigger: deployment.trigger,
        actor: deployment.actor,
        error: ok ? null : deployment.error,
      },
    },
  )
}

/** A rollback: `deployment` is the rollback's own record. */
export function rolledBack(deployment: Deployment, installationId: number): NotificationEvent {
  return notificationEvent(
    'rollback',
    subjectOfDeployment(deployment, installationId),
    `deployment-${deployment.id}`,
    {
      title: `${deployment.environment} rolled back to ${deployment.commitSha.slice(0, 7)}`,
      url: deployment.url,
      details: {
        actor: deployment.actor,
        rollbackOf: deployment.rollbackOf,
        commit: deployment.commitSha,
      },
    },
  )
}

function subjectOf(task: Task) {
  return {
    repo: task.repo ?? '',
    installationId: task.source.installationId ?? null,
    task: task.id,
  }
}

function subjectOfDeployment(deployment: Deployment, installationId: number) {
  return {
    repo: deployment.repo,
    installationId,
    environment: deployment.environment,
    task: deployment.taskId,
  }
}
