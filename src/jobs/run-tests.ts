import type { Logger } from 'pino'
import type { Runner } from '../../runner/types.js'
import type { GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import type { RepoConfig } from '../config/load-repo-config.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { installationToken } from '../github/installation-token.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { completeCheckRun, createCheckRun, markCheckRunInProgress } from '../report/check-run.js'
import { completeTestRun } from '../report/complete-test-run.js'
import { formatTestOutcome, type TestOutcome } from '../report/format-tests.js'
import { markReadyForReview } from '../report/pull-request.js'
import { PR_STATUS_COMMENT, upsertStickyComment } from '../report/sticky-comment.js'
import { updateTaskIssueComment } from '../report/task-issue-comment.js'
import { redact } from '../secrets/redact.js'
import type { Store, Task } from '../store/store.js'
import { runTaskTests } from '../testing/run-task-tests.js'
import { type RunTestsPayload, TESTS_CHECK } from '../triggers/job-payloads.js'

export interface RunTestsDeps {
  store: Store
  auth: GitHubAuth
  git: GitWorkspaces
  /** The runner for the repo config's choice (local, docker, remote-ssh or auto). */
  runner: (kind: RepoConfig['runner'], log: Logger) => Promise<Runner>
  maxManifestBytes: number
}

/** The `run-tests` job. */
export function createRunTestsJob(deps: RunTestsDeps): JobHandler<RunTestsPayload> {
  return {
    kind: 'run-tests',
    async run(payload, ctx) {
      const github = await deps.auth(payload.installationId)
      return runTests(github, deps, payload, ctx.log, ctx.signal)
    },
    async onFailed(payload, error) {
      // A crash, a timeout of the job or an unreachable sandbox: the check run still completes.
      const github = await deps.auth(payload.installationId)
      const run = await deps.store.latestTestRun({
        repo: payload.repo.fullName,
        id: payload.taskId,
      })
      const checkRunId =
        payload.checkRunId ?? (run?.headSha === payload.headSha ? run.checkRunId : null)
      const id =
        checkRunId ??
        (await createCheckRun(github, {
          owner: payload.repo.owner,
          repo: payload.repo.name,
          name: TESTS_CHECK,
          headSha: payload.headSha,
          externalId: payload.taskId,
        }))
      await completeCheckRun(github, {
        owner: payload.repo.owner,
        repo: payload.repo.name,
        checkRunId: id,
        conclusion: 'failure',
        title: 'DevSys could not run the tests',
        summary: `${redact(error)}\n\nDevSys gave up after retrying. Re-run the check or comment \`/test\` to try again.`,
      })
      if (run && run.state !== 'completed') {
        await deps.store.updateTestRun(run.id, {
          state: 'completed',
          conclusion: 'failure',
          summary: { reason: error },
        })
      }
    },
  }
}

async function runTests(
  github: GitHubClient,
  deps: RunTestsDeps,
  payload: RunTestsPayload,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  const target = { owner: payload.repo.owner, repo: payload.repo.name }
  // 1. The check run: queued (unless the trigger made it), then in progress.
  // Only this repository's task: a devsys/<id> branch elsewhere names nothing of ours.
  const task = await deps.store.getTask({ repo: payload.repo.fullName, id: payload.taskId })
  if (!task)
    return {
      status: 'skipped',
      reason: 'task-gone',
      summary: `task ${payload.taskId} no longer exists`,
    }
  // A retry picks up the run (and check run) its first attempt started.
  const previous = await deps.store.latestTestRun(task)
  const resumed =
    previous?.headSha === payload.headSha &&
    previous.state !== 'completed' &&
    previous.checkRunId !== null &&
    (payload.checkRunId === undefined || previous.checkRunId === payload.checkRunId)
      ? previous
      : undefined
  const checkRunId =
    resumed?.checkRunId ??
    payload.checkRunId ??
    (await createCheckRun(github, {
      ...target,
      name: TESTS_CHECK,
      headSha: payload.headSha,
      externalId: task.id,
    }))
  const run =
    resumed ?? (await deps.store.startTestRun({ task, headSha: payload.headSha, checkRunId }))
  await markCheckRunInProgress(github, { ...target, checkRunId })
  await deps.store.updateTestRun(run.id, { state: 'in_progress', checkRunId })

  // 2. What to run (the manifest) and where (the repo config's runner).
  const parsed = parseTaskManifest(task, deps.maxManifestBytes)
  const loaded = await fetchRepoConfig(github, target)
  if (!parsed.ok || !loaded.ok) {
    const what = parsed.ok
      ? `${REPO_CONFIG_PATH} is invalid`
      : 'the stored manifest is no longer valid'
    const outcome: TestOutcome = {
      kind: 'not-run',
      reason: `${what}; fix it and run the check again`,
    }
    return finish(github, deps, payload, task, run.id, checkRunId, outcome, undefined)
  }
  const runner = await deps.runner(loaded.config.runner, log)
  const token = await installationToken(github, payload.installationId)

  // 3. Run the tests on exactly the commit under test, in the runner's sandbox, and read the
  //    report.
  const outcome = await deps.git.withWorkspace(
    payload.repo,
    `devsys/${task.id}`,
    { token },
    async (ws) => {
      await ws.git.raw(['checkout', '--detach', payload.headSha])
      return runTaskTests({
        runner,
        workspace: ws.dir,
        manifest: parsed.manifest,
        signal,
        log,
      })
    },
    signal,
  )
  if (outcome.kind !== 'not-run')
    await deps.store.updateTestRun(run.id, { state: 'in_progress', runner: outcome.runner })
  return finish(github, deps, payload, task, run.id, checkRunId, outcome, loaded.config)
}

async function finish(
  github: GitHubClient,
  deps: RunTestsDeps,
  payload: RunTestsPayload,
  task: Task,
  runId: number,
  checkRunId: number,
  outcome: TestOutcome,
  config: RepoConfig | undefined,
): Promise<Outcome> {
  const target = { owner: payload.repo.owner, repo: payload.repo.name }
  const view = formatTestOutcome(outcome)
  // 5. Complete the check run and the stored run.
  await completeTestRun(github, deps.store, {
    ...target,
    checkRunId,
    runId,
    outcome,
    view,
  })
  // 6. The PR reflects the result: its status comment, and ready for review once tests pass.
  const pr = task.code?.pullRequest
  if (pr) {
    await upsertStickyComment(github, deps.store, {
      ...target,
      issue: pr.number,
      kind: PR_STATUS_COMMENT,
      body: view.comment,
    })
    if (view.conclusion === 'success' && config?.draftUntilTestsPass) {
      const ready = await markReadyForReview(github, { ...target, number: pr.number })
      // The task's issue said "draft until its tests pass": now it is ready.
      if (ready && task.code !== null)
        await updateTaskIssueComment(github, deps.store, target, task, {
          ...pr,
          branch: task.code.branch,
          draft: false,
        })
    }
  }
  if (view.conclusion !== 'success') {
    return { status: 'rejected', reason: `tests-${view.conclusion}`, summary: view.title }
  }
  return { status: 'done', summary: view.title, details: view.counts }
}
