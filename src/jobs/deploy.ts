import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { abandonDeploy } from '../deploy/abandon-deploy.js'
import type { TargetFactory } from '../deploy/create-target.js'
import { dryRun } from '../deploy/dry-run.js'
import { checkBranchHead } from '../deploy/steps/check-head.js'
import { failDeploy } from '../deploy/steps/fail.js'
import { lockEnvironment } from '../deploy/steps/lock.js'
import { openTarget } from '../deploy/steps/open-target.js'
import { type DeploySettings, readSettings } from '../deploy/steps/read-settings.js'
import { recordDeploy } from '../deploy/steps/record.js'
import { settle } from '../deploy/steps/settle.js'
import { switchTo } from '../deploy/steps/switch.js'
import { switchBack } from '../deploy/steps/switch-back.js'
import type { Answer, ResolvedDeploy } from '../deploy/steps/types.js'
import { uploadRelease } from '../deploy/steps/upload.js'
import { type AcceptanceTuning, failedVerification, verifyLive } from '../deploy/steps/verify.js'
import { DeployError, type DeployTarget } from '../deploy/types.js'
import type { LockedWork } from '../deploy/with-environment-lock.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { completeRepo } from '../github/complete-repo.js'
import type { Notify } from '../notify/events.js'
import { publishDeployEnd } from '../notify/publish-deploy-end.js'
import type { JobContext, JobHandler, Outcome } from '../queue/types.js'
import { answerDeploy } from '../report/answer-deploy.js'
import { formatDeployFailed } from '../report/format-deploy.js'
import type {
  AuditStore,
  CommentStore,
  DeploymentStore,
  LockStore,
  TaskStore,
} from '../store/store.js'
import type { DeployPayload } from '../triggers/job-payloads.js'

export interface DeployDeps {
  store: TaskStore & DeploymentStore & LockStore & AuditStore & CommentStore
  auth: GitHubAuth
  git: GitWorkspaces
  targets: TargetFactory
  /** Starts the revert of a release that failed verification. */
  enqueue: Enqueue
  maxManifestBytes: number
  /** How long a deploy lock outlives a dead process (default 10 minutes). */
  lockTtlMs?: number
  /** How long a command waits for a held lock before answering "busy" (default 30 s). */
  lockWaitMs?: number
  /** Acceptance retries, and the hosts the checks may reach besides public ones. */
  acceptance?: AcceptanceTuning
  /** Tells the repository's subscribers how the deploy ended. */
  notify?: Notify | undefined
}

/**
 * The `deploy` job: lock → record → upload → switch → verify → settle, or switch back. Each
 * step is a function in src/deploy/steps/; this file only orders them.
 */
export function createDeployJob(deps: DeployDeps): JobHandler<DeployPayload> {
  return {
    kind: 'deploy',
    async run(payload, ctx) {
      const github = await deps.auth(payload.installationId)
      const repo = await completeRepo(github, payload.repo)
      return deploy(github, deps, { ...payload, repo }, ctx)
    },
    async onFailed(payload, error, ctx) {
      const github = await deps.auth(payload.installationId)
      await abandonDeploy(github, deps, payload, error, { id: ctx.job.id, log: ctx.log })
      await publishDeployEnd(deps, payload, ctx.job.id)
    },
  }
}

/** Everything the steps holding the lock work with. */
type Ready = Extract<DeploySettings, { ok: true }> & {
  github: GitHubClient
  deps: DeployDeps
  p: ResolvedDeploy
  target: DeployTarget
  answer: Answer
  ctx: JobContext
}

async function deploy(
  github: GitHubClient,
  deps: DeployDeps,
  p: ResolvedDeploy,
  ctx: JobContext,
): Promise<Outcome> {
  // 1. A push deploys only while it is still its branch's head.
  const stale = await checkBranchHead(github, p, ctx.log)
  if (stale !== null) return stale
  // 2. Settings from the default branch: the task, its environment and its checks.
  const settings = await readSettings(github, deps, p)
  if (!settings.ok) return settings.outcome
  const { task, environment } = settings
  const answer: Answer = (body, reaction) => answerDeploy(github, deps, p, task, body, reaction)
  // 3. The environment's target.
  const target = await openTarget(deps.targets, p.repo.fullName, environment, ctx.log)
  if (target instanceof DeployError) {
    await answer(formatDeployFailed(environment.name, p.sha, target.message), 'confused')
    return { status: 'rejected', reason: 'target-unavailable', summary: target.message }
  }
  try {
    // A dry run only compares with what is live: no lock, no change.
    if (p.dryRun) {
      const run = { target, environment: environment.name, answer, signal: ctx.signal }
      return await dryRun(github, deps.git, p, run)
    }
    // 4. Lock the environment: everything up to settling holds it.
    const ready: Ready = { ...settings, github, deps, p, target, answer, ctx }
    const held = { github, deps, p, task, environment: environment.name, jobId: ctx.job.id }
    const outcome = await lockEnvironment({ ...held, signal: ctx.signal, log: ctx.log }, (signal) =>
      deployHoldingLock(ready, signal),
    )
    // 10. Tell the repository's subscribers how it ended.
    await publishDeployEnd(deps, p, ctx.job.id)
    return outcome
  } finally {
    await target.close()
  }
}

async function deployHoldingLock(run: Ready, signal: AbortSignal): Promise<LockedWork> {
  const { github, deps, p, target, environment, checks } = run
  const { log } = run.ctx
  const env = environment.name
  const jobId = run.ctx.job.id
  // 5. Record the deploy in the history and as a GitHub deployment.
  const taskId = run.task?.id ?? null
  const recorded = {
    ...(await recordDeploy(github, deps.store, p, { environment: env, taskId, jobId })),
    environment: env,
    answer: run.answer,
    log,
  }
  try {
    // 6. Upload the release beside the live one; `current` is not touched.
    const uploaded = await uploadRelease(deps, github, p, {
      target,
      record: recorded.record,
      checks,
      signal,
      log,
    })
    // 7. Switch `current` to it, and keep the last N releases.
    const prune = { keep: environment.config.keepReleases, environment: env, log }
    await switchTo(target, uploaded.releaseId, { live: uploaded.live, signal, prune })
    // 8. Verify the live site.
    const verification = await verifyLive(github, deps.acceptance, p, {
      environment: env,
      target,
      checks: uploaded.checks,
      fromTree: checks === null,
      record: recorded.record,
      signal,
    })
    // 9. Settle, or switch straight back.
    const verified = { ...recorded, target, uploaded, verification }
    if (failedVerification(verification)) return await switchBack(deps, p, verified)
    return await settle(github, deps.store, p, verified)
  } catch (error) {
    return failDeploy(error, deps.store, p, recorded)
  }
}
