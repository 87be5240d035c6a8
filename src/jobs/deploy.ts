import type { Logger } from 'pino'
import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import type { EnvironmentConfig } from '../config/load-repo-config.js'
import { withRelease } from '../deploy/checkout-release.js'
import { checksInTree } from '../deploy/checks-in-tree.js'
import type { TargetFactory } from '../deploy/create-target.js'
import { resolveEnvironment } from '../deploy/environments.js'
import { ReleaseFilesError } from '../deploy/release-files.js'
import { DeployError, type DeployTarget, type UploadResult } from '../deploy/types.js'
import {
  environmentKey,
  type LockedWork,
  withEnvironmentLock,
} from '../deploy/with-environment-lock.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { GitError } from '../git/git-error.js'
import { getBranchHead } from '../github/get-branch-head.js'
import { installationToken } from '../github/installation-token.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { AcceptanceCheck } from '../manifest/types.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { answerDeploy } from '../report/answer-deploy.js'
import { completeCheckRun, createCheckRun } from '../report/check-run.js'
import { createGitHubDeployment, setDeploymentStatus } from '../report/deployment.js'
import { formatDeployed, formatDeployFailed, formatDryRun } from '../report/format-deploy.js'
import { formatProblems, formatStopComment } from '../report/format-intake.js'
import type { Deployment, Store, Task } from '../store/store.js'
import type {
  DeployPayload,
  DeployRepo,
  RepoName,
  RevertPayload,
} from '../triggers/job-payloads.js'
import type { ReachPolicy } from '../verify/guard-url.js'
import { type AllowList, EMPTY_ALLOW_LIST } from '../verify/parse-allowed-hosts.js'
import {
  type AcceptanceResult,
  formatAcceptanceSummary,
  runAcceptance,
} from '../verify/run-acceptance.js'

/** The repository's clone URL, web URL and default branch, from the payload or from GitHub. */
export async function completeRepo(
  github: GitHubClient,
  repo: DeployRepo | RepoName,
): Promise<DeployRepo> {
  if ('cloneUrl' in repo) return repo
  const { data } = await github.rest.repos.get({ owner: repo.owner, repo: repo.name })
  return {
    ...repo,
    cloneUrl: data.clone_url,
    htmlUrl: data.html_url,
    defaultBranch: data.default_branch,
  }
}

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
  /**
   * Acceptance retries and pause between them (defaults of runAcceptance), and the server's
   * ACCEPTANCE_ALLOWED_HOSTS (default none: only the target's own trusted origin and public
   * addresses are checked).
   */
  acceptance?: { retries?: number; retryDelayMs?: number; allowedHosts?: AllowList }
}

/** Check run that reports the verification of a deploy. */
const ACCEPTANCE_CHECK = 'DevSys / acceptance'

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
  jobId: string,
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
    return await withEnvironmentLock(
      { github, deps, p, task, environment: env.name, jobId, reason: lockReason(p), signal },
      (lockSignal) => deployLocked(run, jobId, lockSignal),
    )
  } finally {
    await target.close()
  }
}

/** The environment's target, or the DeployError saying why it cannot be used (settings missing). */
export async function openTarget(
  targets: TargetFactory,
  repo: string,
  env: { name: string; config: EnvironmentConfig },
  log: Logger,
): Promise<DeployTarget | DeployError> {
  try {
    return await targets({ repo, environment: env.name, config: env.config }, log)
  } catch (error) {
    if (error instanceof DeployError) return error
    throw error
  }
}

/** What a second deploy is told about this one while it holds the lock. */
function lockReason(p: DeployPayload): string {
  const origin =
    p.trigger === 'merge'
      ? 'merge'
      : p.trigger === 'api'
        ? 'manager API'
        : `/deploy on #${p.command?.pr ?? '?'}`
  return `deploy of ${p.sha.slice(0, 7)} for @${p.actor} (${origin})`
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
    if (!isExpected(error)) throw error
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
  jobId: string,
  signal: AbortSignal,
): Promise<LockedWork> {
  const { github, deps, p, target, environment } = run
  const { store } = deps
  const owner = p.repo.owner
  const repo = p.repo.name
  // Holding the lock, nothing else deploys here: anything still open was left by a dead process.
  await closeOpenDeployments(github, store, p.repo, { environment }, run.log)
  let record = await store.createDeployment({
    repo: p.repo.fullName,
    environment,
    taskId: run.task?.id ?? null,
    trigger: p.trigger,
    actor: p.actor,
    commitSha: p.sha,
    ref: p.branch,
    jobId,
  })
  const githubId = await createGitHubDeployment(github, {
    owner,
    repo,
    sha: p.sha,
    environment,
    description: `DevSys deploy of ${p.sha.slice(0, 7)} for @${p.actor}`,
    payload: { deployment: record.id, task: run.task?.id ?? null, trigger: p.trigger },
  })
  record = (await store.updateDeployment(record.id, { githubDeploymentId: githubId })) ?? record
  const status = (
    state: Parameters<typeof setDeploymentStatus>[1]['state'],
    description: string,
    url?: string | null,
  ) =>
    setDeploymentStatus(github, {
      owner,
      repo,
      deploymentId: githubId,
      state,
      description,
      environmentUrl: url ?? null,
    })
  await status('in_progress', `Deploying ${p.sha.slice(0, 7)} to ${environment}`)
  try {
    // 3. Upload the release beside the live one; `current` is not touched until it is complete.
    const before = await target.state(signal)
    const token = await installationToken(github, p.installationId)
    const { releaseId, upload, checks } = await withRelease(
      deps.git,
      { repo: p.repo, branch: p.branch, sha: p.sha, auth: { token }, signal },
      async (release) => ({
        releaseId: release.id,
        upload: await target.upload(release, { signal, log: run.log }),
        checks: run.checks ?? (await checksInTree(deps, p.repo.fullName, release.dir)).checks,
      }),
    )
    await store.updateDeployment(record.id, { releaseId })
    // 4. Switch, and keep the last N.
    if (before.current !== releaseId) await target.activate(releaseId, signal)
    await target.prune(run.keep, signal).catch((error: unknown) => {
      run.log.warn(
        { err: error, environment },
        'old releases were not pruned; the next deploy tries again',
      )
    })
    // 5. Verify the live site; a failure switches straight back.
    const verification = await verify(run, checks, record, signal)
    const failed = 'ok' in verification && !verification.ok
    const verificationRecord =
      'ok' in verification
        ? (verification as unknown as Record<string, unknown>)
        : { skipped: verification.skipped }
    if (failed) {
      const back = before.current !== null && before.current !== releaseId ? before.current : null
      if (back !== null) await target.activate(back)
      await store.updateDeployment(record.id, {
        state: 'failure',
        bad: true,
        verification: verificationRecord,
        error: 'acceptance checks failed',
      })
      await store.audit({
        actor: 'devsys',
        action: 'deploy.verification-failed',
        subject: `deployment:${record.id}`,
        details: { environment, releaseId, switchedBackTo: back },
      })
      if (p.trigger === 'merge')
        await startRevert(
          deps.enqueue,
          p,
          record.id,
          environment,
          'The deploy failed its acceptance checks.',
          { switchedBack: back !== null },
        )
      const report = async () => {
        await status(
          'failure',
          back === null
            ? 'Acceptance checks failed; nothing earlier to switch back to'
            : `Acceptance checks failed; switched back to ${back.slice(0, 7)}`,
        )
        await answerDeploy(
          github,
          deps,
          p,
          run.task,
          formatDeployed({
            environment,
            sha: p.sha,
            releaseId,
            url: target.url,
            upload,
            verification,
            switchedBackTo: back,
          }),
          'confused',
        )
      }
      const summary = `${p.sha.slice(0, 7)} failed verification in ${environment}`
      return { outcome: { status: 'rejected', reason: 'verification-failed', summary }, report }
    }
    await store.updateDeployment(record.id, {
      state: 'success',
      verification: verificationRecord,
      ...(target.url === null ? {} : { url: target.url }),
    })
    // The work is done: GitHub and the PR hear of it once the lock is free again.
    const report = async () => {
      await status('success', `Live in ${environment}`, target.url)
      await inactivatePrevious(github, store, p.repo, environment, record.id, run.log)
      const body = { environment, sha: p.sha, releaseId, url: target.url, upload, verification }
      await answerDeploy(github, deps, p, run.task, formatDeployed(body), 'rocket')
    }
    const outcome: Outcome = {
      status: 'done',
      summary: `${p.sha.slice(0, 7)} live in ${environment}`,
      details: deployDetails(record.id, releaseId, upload),
    }
    return { outcome, report }
  } catch (error) {
    // Always terminal: a failed deploy says why; an unexpected error is retried as a new deployment.
    const expected = isExpected(error)
    const message = error instanceof Error ? error.message : String(error)
    await store.updateDeployment(record.id, {
      state: expected ? 'failure' : 'error',
      error: message,
    })
    await status(expected ? 'failure' : 'error', message).catch((statusError: unknown) => {
      run.log.warn(
        { err: statusError },
        'could not close the GitHub deployment; the next deploy of this environment does',
      )
    })
    if (!expected) throw error
    const report = () =>
      answerDeploy(
        github,
        deps,
        p,
        run.task,
        formatDeployFailed(environment, p.sha, message),
        'confused',
      )
    const reason = error instanceof DeployError ? error.code : 'deploy-failed'
    return { outcome: { status: 'rejected', reason, summary: message }, report }
  }
}

function deployDetails(deployment: number, releaseId: string, upload: UploadResult) {
  return { deployment, releaseId, ...upload }
}

/** Runs the acceptance checks against the live URL, reported as the `DevSys / acceptance` check run. */
async function verify(
  run: DeployRun,
  checks: AcceptanceCheck[],
  record: Deployment,
  signal: AbortSignal,
): Promise<AcceptanceResult | { skipped: string }> {
  const { github, p, target } = run
  if (checks.length === 0) {
    return {
      skipped:
        run.checks === null
          ? `${p.sha.slice(0, 7)} is no task's merge and its tree holds no task record with acceptance checks`
          : 'the task has no acceptance checks',
    }
  }
  if (target.url === null) {
    return {
      skipped: `nothing serves \`${run.environment}\` (set its url in ${REPO_CONFIG_PATH}, or install PHP for the local target)`,
    }
  }
  const where = { owner: p.repo.owner, repo: p.repo.name }
  const checkRunId = await createCheckRun(github, {
    ...where,
    name: ACCEPTANCE_CHECK,
    headSha: p.sha,
    externalId: String(record.id),
    inProgressTitle: `Verifying ${run.environment}`,
  })
  try {
    const { allowedHosts, ...tuning } = run.deps.acceptance ?? {}
    const reach: ReachPolicy = {
      trustedOrigins: target.trustedOrigin === undefined ? [] : [target.trustedOrigin],
      allowed: allowedHosts ?? EMPTY_ALLOW_LIST,
    }
    const result = await runAcceptance(target.url, checks, { ...tuning, reach, signal })
    const passed = result.checks.filter((c) => c.ok).length
    await completeCheckRun(github, {
      ...where,
      checkRunId,
      conclusion: result.ok ? 'success' : 'failure',
      title: `${passed} of ${result.checks.length} acceptance checks passed in ${run.environment}`,
      summary: formatAcceptanceSummary(result),
    })
    return result
  } catch (error) {
    await completeCheckRun(github, {
      ...where,
      checkRunId,
      conclusion: 'cancelled',
      title: 'Verification stopped',
      summary: `DevSys stopped verifying ${run.environment}: ${error instanceof Error ? error.message : String(error)}`,
    }).catch(() => undefined)
    throw error
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

/** Closes deployments a dead process left in progress, in the store and on GitHub. */
async function closeOpenDeployments(
  github: GitHubClient,
  store: Store,
  repo: Pick<DeployRepo, 'owner' | 'name' | 'fullName'>,
  filter: { environment?: string; jobId?: string },
  log: Logger,
): Promise<Deployment[]> {
  const open = await store.listDeployments({ repo: repo.fullName, state: 'in_progress', ...filter })
  for (const d of open) {
    const message =
      'DevSys stopped during this deploy (its process ended); the site kept serving a complete release'
    await store.updateDeployment(d.id, { state: 'error', error: message })
    if (d.githubDeploymentId === null) continue
    await setDeploymentStatus(github, {
      owner: repo.owner,
      repo: repo.name,
      deploymentId: d.githubDeploymentId,
      state: 'error',
      description: message,
    }).catch((error: unknown) => {
      log.warn({ err: error, deployment: d.id }, 'could not close a GitHub deployment left open')
    })
  }
  return open
}

/** The deployment that was live before `current` goes inactive on GitHub. */
async function inactivatePrevious(
  github: GitHubClient,
  store: Store,
  repo: DeployRepo,
  environment: string,
  current: number,
  log: Logger,
) {
  const [previous] = (
    await store.listDeployments({ repo: repo.fullName, environment, state: 'success', limit: 2 })
  ).filter((d) => d.id !== current)
  if (previous?.githubDeploymentId == null) return
  await setDeploymentStatus(github, {
    owner: repo.owner,
    repo: repo.name,
    deploymentId: previous.githubDeploymentId,
    state: 'inactive',
    description: `Replaced by a newer deploy to ${environment}`,
  }).catch((error: unknown) => {
    log.warn(
      { err: error, deployment: previous.id },
      'could not mark the previous GitHub deployment inactive',
    )
  })
}

/** Queues the revert that brings the default branch back to what is live. */
export async function startRevert(
  enqueue: Enqueue,
  p: { installationId: number; repo: DeployRepo; sha: string; actor: string },
  deployment: number,
  environment: string,
  reason: string,
  /** Whether the environment was switched off the commit already (else its revert's deploy does). */
  opts: { switchedBack: boolean },
) {
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

/** Failures that say what is wrong with the target, the commit or its files: reported, not retried. */
function isExpected(error: unknown): boolean {
  return (
    error instanceof DeployError || error instanceof GitError || error instanceof ReleaseFilesError
  )
}
