import type { Logger } from 'pino'
import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import { withRelease } from '../deploy/checkout-release.js'
import type { TargetFactory } from '../deploy/create-target.js'
import { closeOpenDeployments } from '../deploy/close-open-deployments.js'
import { resolveEnvironment } from '../deploy/environments.js'
import { isExpectedFailure } from '../deploy/is-expected-failure.js'
import { lockEnvironment } from '../deploy/steps/lock.js'
import { failDeploy } from '../deploy/steps/fail.js'
import { recordDeploy } from '../deploy/steps/record.js'
import { settle } from '../deploy/steps/settle.js'
import { switchBack } from '../deploy/steps/switch-back.js'
import type { Answer } from '../deploy/steps/types.js'
import { switchTo } from '../deploy/steps/switch.js'
import { uploadRelease } from '../deploy/steps/upload.js'
import { type AcceptanceTuning, failedVerification, verifyLive } from '../deploy/steps/verify.js'
import { openTarget } from '../deploy/steps/open-target.js'
import { DeployError, type DeployTarget } from '../deploy/types.js'
import { environmentKey, type LockedWork } from '../deploy/with-environment-lock.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { completeRepo } from '../github/complete-repo.js'
import { getBranchHead } from '../github/get-branch-head.js'
import { installationToken } from '../github/installation-token.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { AcceptanceCheck } from '../manifest/types.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { answerDeploy } from '../report/answer-deploy.js'
import { formatDeployFailed, formatDryRun } from '../report/format-deploy.js'
import { formatProblems, formatStopComment } from '../report/format-intake.js'
import type { Store, Task } from '../store/store.js'
import type { DeployPayload, DeployRepo } from '../triggers/job-payloads.js'

/** A deploy payload whose repository is complete. */
type Resolved = DeployPayload & { repo: DeployRepo }

export interface DeployDeps {
  store: Store
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
}

/** The `deploy` job. */
export function createDeployJob(deps: DeployDeps): JobHandler<DeployPayload> {
  return {
    kind: 'deploy',
    async run(payload, ctx) {
      const github = await deps.auth(payload.installationId)
      const repo = await completeRepo(github, payload.repo)
      return deploy(github, deps, { ...payload, repo }, ctx.job.id, ctx.log, ctx.signal)
    },
    async onFailed(payload, error, ctx) {
      const github = await deps.auth(payload.installationId)
      // A job that died mid-deploy left its record open and its lock held: close the record
      // (on GitHub too) and free the lock now rather than when it expires.
      const closed = await closeOpenDeployments(
        github,
        deps.store,
        payload.repo,
        { jobId: ctx.job.id },
        ctx.log,
      )
      for (const d of closed) {
        await deps.store.releaseDeployLock(
          environmentKey(payload.repo.fullName, d.environment),
          `job:${ctx.job.id}`,
        )
      }
      // Told on the /deploy's PR, or for a merge on its task's PR when the record names it.
      const taskId = payload.taskId ?? closed.find((d) => d.taskId !== null)?.taskId ?? null
      const task =
        taskId === null
          ? undefined
          : await deps.store.getTask({ repo: payload.repo.fullName, id: taskId })
      const message = `${error}\n\nDevSys gave up after retrying. The site serves a complete release (a release only goes live whole); see the deploy history for which one.`
      await answerDeploy(
        github,
        deps,
        payload,
        task,
        formatStopComment(`DevSys could not deploy ${payload.sha.slice(0, 7)}`, message),
        'confused',
      )
    },
  }
}

async function deploy(
  github: GitHubClient,
  deps: DeployDeps,
  p: Resolved,
  jobId: number,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  // 0. A push deploys only while its commit is still the branch's head: an old push delivered
  //    again (or late) after newer ones must not roll the site back to it.
  if (p.trigger === 'merge') {
    const head = await getBranchHead(github, {
      owner: p.repo.owner,
      repo: p.repo.name,
      branch: p.branch,
    })
    if (head !== p.sha) {
      log.info({ sha: p.sha, head, branch: p.branch }, 'push is no longer the branch head')
      return {
        status: 'skipped',
        reason: 'not-branch-head',
        summary: `${p.sha.slice(0, 7)} is no longer the head of ${p.branch} (${head === null ? 'the branch is gone' : `it is ${head.slice(0, 7)}`}); nothing deployed`,
      }
    }
  }
  // 1. Settings from the default branch, the task, and where it goes.
  const loaded = await fetchRepoConfig(github, { owner: p.repo.owner, repo: p.repo.name })
  if (!loaded.ok) {
    await answerDeploy(
      github,
      deps,
      p,
      null,
      formatStopComment(
        `DevSys cannot read ${REPO_CONFIG_PATH}`,
        formatProblems(REPO_CONFIG_PATH, loaded.problems),
      ),
      'confused',
    )
    return { status: 'rejected', reason: 'invalid-repo-config', summary: 'repo config is invalid' }
  }
  const task = await findTask(github, deps.store, p)
  if (p.trigger === 'merge' && task === undefined) {
    // A repository DevSys never deployed is not DevSys's to deploy on every push.
    const earlier = await deps.store.listDeployments({ repo: p.repo.fullName, limit: 1 })
    if (earlier.length === 0) {
      return {
        status: 'skipped',
        reason: 'not-deployed-here',
        summary: `${p.sha.slice(0, 7)} is not a DevSys task's merge and nothing was deployed from ${p.repo.fullName} before`,
      }
    }
  }
  const parsed = task === undefined ? undefined : parseTaskManifest(task, deps.maxManifestBytes)
  const manifest = parsed?.ok === true ? parsed.manifest : null
  const env = resolveEnvironment(loaded.config, manifest, p.environment)
  if (!env.ok) {
    await answerDeploy(
      github,
      deps,
      p,
      task,
      formatStopComment(`DevSys cannot deploy to \`${env.name}\``, env.message),
      'confused',
    )
    return { status: 'rejected', reason: 'unknown-environment', summary: env.message }
  }
  // A push that is no task's merge is verified against the task whose record is in its tree.
  const checks = manifest?.acceptance ?? null

  // 2. The target; a dry run only compares, everything else holds the environment's lock.
  const target = await openTarget(deps.targets, p.repo.fullName, env, log)
  if (target instanceof DeployError) {
    await answerDeploy(
      github,
      deps,
      p,
      task,
      formatDeployFailed(env.name, p.sha, target.message),
      'confused',
    )
    return { status: 'rejected', reason: 'target-unavailable', summary: target.message }
  }
  const run: DeployRun = {
    github,
    deps,
    p,
    task,
    environment: env.name,
    keep: env.config.keepReleases,
    checks,
    target,
    log,
  }
  try {
    if (p.dryRun) return await dryRun(run, signal)
    return await lockEnvironment(
      { github, deps, p, task, environment: env.name, jobId, signal, log },
      (lockSignal) => deployLocked(run, jobId, lockSignal),
    )
  } finally {
    await target.close()
  }
}

interface DeployRun {
  github: GitHubClient
  deps: DeployDeps
  p: Resolved
  task: Task | undefined
  environment: string
  keep: number
  /** null: the checks of the task whose record is in the deployed tree. */
  checks: AcceptanceCheck[] | null
  target: DeployTarget
  log: Logger
}

async function dryRun(run: DeployRun, signal: AbortSignal): Promise<Outcome> {
  const { p, target } = run
  try {
    const token = await installationToken(run.github, p.installationId)
    const { live, releaseId, diff } = await withRelease(
      run.deps.git,
      { repo: p.repo, branch: p.branch, sha: p.sha, auth: { token }, signal },
      async (release) => ({
        live: (await target.state(signal)).current,
        releaseId: release.id,
        diff: await target.diff(release, signal),
      }),
    )
    await answerDeploy(
      run.github,
      run.deps,
      p,
      run.task,
      formatDryRun({ environment: run.environment, sha: p.sha, releaseId, live, diff }),
      null,
    )
    const total = diff.added.length + diff.changed.length + diff.removed.length
    return {
      status: 'done',
      summary: `dry run of ${p.sha.slice(0, 7)} to ${run.environment}: ${total} file(s) differ`,
    }
  } catch (error) {
    if (!isExpectedFailure(error)) throw error
    await answerDeploy(
      run.github,
      run.deps,
      p,
      run.task,
      formatDeployFailed(run.environment, p.sha, (error as Error).message),
      'confused',
    )
    return { status: 'rejected', reason: 'dry-run-failed', summary: (error as Error).message }
  }
}

async function deployLocked(
  run: DeployRun,
  jobId: number,
  signal: AbortSignal,
): Promise<LockedWork> {
  const { github, deps, p, target, environment } = run
  const { store } = deps
  const { record, status } = await recordDeploy(github, store, p, {
    environment,
    taskId: run.task?.id ?? null,
    jobId,
  })
  const answer: Answer = (body, reaction) => answerDeploy(github, deps, p, run.task, body, reaction)
  const recorded = { environment, record: record.id, status, answer, log: run.log }
  try {
    // 3. Upload the release beside the live one; `current` is not touched until it is complete.
    const uploaded = await uploadRelease(deps, github, p, {
      target,
      record: record.id,
      checks: run.checks,
      signal,
      log: run.log,
    })
    // 4. Switch, and keep the last N.
    await switchTo(target, uploaded.releaseId, {
      live: uploaded.live,
      signal,
      prune: { keep: run.keep, environment, log: run.log },
    })
    // 5. Verify the live site; a failure switches straight back.
    const verification = await verifyLive(github, deps.acceptance, p, {
      environment,
      target,
      checks: uploaded.checks,
      fromTree: run.checks === null,
      record: record.id,
      signal,
    })
    // 6. Settle, or switch back.
    const verified = { ...recorded, target, uploaded, verification }
    if (failedVerification(verification)) return await switchBack(deps, p, verified)
    return await settle(github, store, p, verified)
  } catch (error) {
    return failDeploy(error, store, p, recorded)
  }
}

/** The task of the deployed commit: given, or the one whose pull request was merged as `sha`. */
async function findTask(
  github: GitHubClient,
  store: Store,
  p: DeployPayload,
): Promise<Task | undefined> {
  if (p.taskId !== null) return store.getTask({ repo: p.repo.fullName, id: p.taskId })
  const { data } = await github.rest.repos.listPullRequestsAssociatedWithCommit({
    owner: p.repo.owner,
    repo: p.repo.name,
    commit_sha: p.sha,
  })
  for (const pr of data) {
    if (pr.merged_at === null) continue
    const task = await store.findTaskByPullRequest(p.repo.fullName, pr.number)
    if (task !== undefined) return task
  }
  return undefined
}
