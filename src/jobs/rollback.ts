import type { Logger } from 'pino'
import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import type { TargetFactory } from '../deploy/create-target.js'
import { resolveEnvironment } from '../deploy/environments.js'
import { recordRollbackOnGitHub } from '../deploy/record-rollback.js'
import { startRevert } from '../deploy/start-revert.js'
import { openTarget } from '../deploy/steps/open-target.js'
import { switchTo } from '../deploy/steps/switch.js'
import { DeployError } from '../deploy/types.js'
import { type LockedWork, withEnvironmentLock } from '../deploy/with-environment-lock.js'
import { completeRepo } from '../github/complete-repo.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { Notify } from '../notify/events.js'
import { publishDeployEnd } from '../notify/publish-deploy-end.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { answerDeploy } from '../report/answer-deploy.js'
import { ROLLBACK_COMMENT } from '../report/comment-kinds.js'
import { formatRollbackByRevert, formatRolledBack } from '../report/format-deploy.js'
import { formatProblems, formatStopComment } from '../report/format-intake.js'
import type {
  AuditStore,
  CommentStore,
  DeploymentStore,
  LockStore,
  TaskStore,
} from '../store/store.js'
import type { DeployRepo, RollbackPayload } from '../triggers/job-payloads.js'

export interface RollbackDeps {
  store: TaskStore & DeploymentStore & LockStore & AuditStore & CommentStore
  auth: GitHubAuth
  targets: TargetFactory
  enqueue: Enqueue
  maxManifestBytes: number
  lockTtlMs?: number
  lockWaitMs?: number
  /** Tells the repository's subscribers of a rollback done. */
  notify?: Notify | undefined
}

/**
 * The `rollback` job. When the task's deploy is what is live, `current` goes straight back to
 * the release live before it (still on the target, so this is one switch); either way a revert
 * of the task's merge is queued, so the default branch describes what is live.
 */
export function createRollbackJob(deps: RollbackDeps): JobHandler<RollbackPayload> {
  return {
    kind: 'rollback',
    async run(p, ctx) {
      const github = await deps.auth(p.installationId)
      const repo = await completeRepo(github, p.repo)
      return rollback(github, deps, { ...p, repo }, ctx.job.id, ctx.log, ctx.signal)
    },
    async onFailed(p, error) {
      const github = await deps.auth(p.installationId)
      const task = await deps.store.getTask({ repo: p.repo.fullName, id: p.taskId })
      await answerDeploy(
        github,
        deps,
        p,
        task,
        formatStopComment(
          'DevSys could not roll back',
          `${error}\n\nDevSys gave up after retrying.`,
        ),
        'confused',
        ROLLBACK_COMMENT,
      )
    },
  }
}

async function rollback(
  github: GitHubClient,
  deps: RollbackDeps,
  p: RollbackPayload & { repo: DeployRepo },
  jobId: string,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  const task = await deps.store.getTask({ repo: p.repo.fullName, id: p.taskId })
  const refuse = async (reason: string, title: string, message: string): Promise<Outcome> => {
    await answerDeploy(
      github,
      deps,
      p,
      task,
      formatStopComment(title, message),
      'confused',
      ROLLBACK_COMMENT,
    )
    return { status: 'rejected', reason, summary: message }
  }
  if (task === undefined)
    return refuse('task-gone', 'Nothing to roll back', `There is no task ${p.taskId}.`)
  const loaded = await fetchRepoConfig(github, { owner: p.repo.owner, repo: p.repo.name })
  if (!loaded.ok) {
    return refuse(
      'invalid-repo-config',
      `DevSys cannot read ${REPO_CONFIG_PATH}`,
      formatProblems(REPO_CONFIG_PATH, loaded.problems),
    )
  }
  const parsed = parseTaskManifest(task, deps.maxManifestBytes)
  const env = resolveEnvironment(loaded.config, parsed.ok ? parsed.manifest : null, p.environment)
  if (!env.ok)
    return refuse('unknown-environment', `DevSys cannot roll back \`${env.name}\``, env.message)
  const [bad] = await deps.store.listDeployments({
    repo: p.repo.fullName,
    environment: env.name,
    taskId: task.id,
    state: 'success',
    limit: 1,
  })
  if (bad === undefined) {
    return refuse(
      'not-deployed',
      'Nothing to roll back',
      `Task \`${task.id}\` has no successful deploy in \`${env.name}\`.`,
    )
  }
  // Only merges are on the default branch: a /deploy of a PR head has nothing to revert there.
  const revertBad = async (switchedBack: boolean) => {
    if (bad.trigger !== 'merge') return
    const reason =
      p.trigger === 'monitor'
        ? `automatic rollback by the monitor (@${p.actor})`
        : `/rollback by @${p.actor}`
    await startRevert(deps.enqueue, { ...p, sha: bad.commitSha }, bad.id, env.name, reason, {
      switchedBack,
    })
  }
  const answer = (body: string, reaction: 'rocket' | 'confused') => () =>
    answerDeploy(github, deps, p, task, body, reaction, ROLLBACK_COMMENT)
  const target = await openTarget(deps.targets, p.repo.fullName, env, log)
  if (target instanceof DeployError) {
    return refuse('target-unavailable', `DevSys cannot reach \`${env.name}\``, target.message)
  }
  try {
    const reason = `rollback of ${task.id} for @${p.actor}`
    const outcome = await withEnvironmentLock(
      {
        github,
        deps,
        p,
        task,
        environment: env.name,
        jobId,
        reason,
        retryWith: '/rollback',
        signal,
      },
      async (lockSignal): Promise<LockedWork> => {
        // Newest first: the live deployment, then what was live before it.
        const history = await deps.store.listDeployments({
          repo: p.repo.fullName,
          environment: env.name,
          state: 'success',
          limit: 50,
        })
        if (history[0]?.id !== bad.id) {
          // Later deploys are live: switching back would drop them too. Reverting the task's
          // commit takes only its changes out, through a normal deploy of the revert.
          await deps.store.updateDeployment(bad.id, { bad: true })
          await revertBad(false)
          const message = `A later deploy is live in \`${env.name}\`, so DevSys did not switch back; it is reverting ${bad.commitSha.slice(0, 7)} and the revert deploys like any merge.`
          return {
            outcome: { status: 'done', summary: 'revert queued; later deploys are live' },
            report: answer(`### Rolling back \`${task.id}\`\n\n${message}`, 'rocket'),
          }
        }
        const onTarget = new Set((await target.state(lockSignal)).releases)
        const previous = history.find(
          (d) =>
            d.id < bad.id &&
            d.releaseId !== null &&
            d.releaseId !== bad.releaseId &&
            onTarget.has(d.releaseId),
        )
        if (previous?.releaseId == null || bad.releaseId === null) {
          // Nothing earlier to switch to: a merge is still taken out by its revert, whose
          // deploy brings the site to the default branch as it was before the merge.
          const first = !history.some((d) => d.id < bad.id)
          const text = formatRollbackByRevert({
            environment: env.name,
            sha: bad.commitSha,
            defaultBranch: p.repo.defaultBranch,
            first,
            revertable: bad.trigger === 'merge',
          })
          if (bad.trigger !== 'merge') {
            const summary = `no earlier release of ${env.name} and no merge to revert`
            return {
              outcome: { status: 'rejected', reason: 'no-previous-release', summary },
              report: answer(text, 'confused'),
            }
          }
          await deps.store.updateDeployment(bad.id, { bad: true })
          await deps.store.audit({
            actor: p.actor,
            action: 'deploy.rollback-by-revert',
            subject: `deployment:${bad.id}`,
            target: { repo: p.repo.fullName, task: bad.taskId, environment: env.name },
            result: 'ok',
            details: { environment: env.name, first },
          })
          await revertBad(false)
          const summary = `no earlier release of ${env.name}; revert of ${bad.commitSha.slice(0, 7)} queued`
          return { outcome: { status: 'done', summary }, report: answer(text, 'rocket') }
        }
        await switchTo(target, previous.releaseId, { signal: lockSignal })
        await deps.store.updateDeployment(bad.id, { state: 'rolled_back', bad: true })
        const record = await deps.store.createDeployment({
          repo: p.repo.fullName,
          environment: env.name,
          taskId: previous.taskId,
          trigger: 'rollback',
          actor: p.actor,
          commitSha: previous.commitSha,
          ref: previous.ref,
          releaseId: previous.releaseId,
          rollbackOf: bad.id,
          state: 'success',
          jobId,
        })
        await deps.store.audit({
          actor: p.actor,
          action: 'deploy.rolled-back',
          subject: `deployment:${bad.id}`,
          target: {
            repo: p.repo.fullName,
            task: bad.taskId,
            environment: env.name,
            release: previous.releaseId,
          },
          before: { release: bad.releaseId, commit: bad.commitSha },
          after: { release: previous.releaseId, commit: previous.commitSha },
          result: 'ok',
          details: { environment: env.name, to: previous.releaseId, rollback: record.id },
        })
        await revertBad(true)
        const body = formatRolledBack({
          environment: env.name,
          from: { sha: bad.commitSha, releaseId: bad.releaseId },
          to: { sha: previous.commitSha, releaseId: previous.releaseId },
          url: target.url,
        })
        // GitHub and the PR hear of it once the lock is free again.
        const report = async () => {
          await recordRollbackOnGitHub(
            github,
            deps.store,
            p,
            env.name,
            record.id,
            previous.commitSha,
            bad.githubDeploymentId,
            target.url,
            log,
          )
          await answer(body, 'rocket')()
        }
        const summary = `${env.name} back on ${previous.releaseId.slice(0, 7)}`
        return { outcome: { status: 'done', summary, details: { rollback: record.id } }, report }
      },
    )
    await publishDeployEnd(deps, p, jobId)
    return outcome
  } finally {
    await target.close()
  }
}
