import type { Logger } from 'pino'
import type { GitHubAuth, GitHubClient, RunnerFor } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import type { RepoConfig } from '../config/load-repo-config.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { installationToken } from '../github/installation-token.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import { type Notify, publish } from '../notify/events.js'
import { testsCompleted } from '../notify/state-events.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { failCheckRun, type OwnedCheckRun, withCheckRun } from '../report/check-run.js'
import { PR_STATUS_COMMENT } from '../report/comment-kinds.js'
import { recordTestResult, testCheckResult } from '../report/complete-test-run.js'
import { formatTestOutcome, type TestOutcome, type TestView } from '../report/format-tests.js'
import { markReadyForReview } from '../report/pull-request.js'
import { replyOn } from '../report/reply.js'
import { updateTaskIssueComment } from '../report/task-issue-comment.js'
import { redact } from '../secrets/redact.js'
import type { CommentStore, Task, TaskStore, TestRun, TestRunStore } from '../store/store.js'
import { runTaskTests } from '../testing/run-task-tests.js'
import { type RunTestsPayload, TESTS_CHECK } from '../triggers/job-payloads.js'

export interface RunTestsDeps {
  store: TaskStore & TestRunStore & CommentStore
  auth: GitHubAuth
  git: GitWorkspaces
  runner: RunnerFor
  maxManifestBytes: number
  /** Tells the repository's subscribers whether the tests passed. */
  notify?: Notify | undefined
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
      const existing =
        payload.checkRunId ?? (run?.headSha === payload.headSha ? run.checkRunId : null)
      await failCheckRun(github, testsCheck(payload, payload.taskId, existing ?? undefined), {
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

interface Tested {
  runId: number
  outcome: TestOutcome
  view: TestView
  config: RepoConfig | undefined
}

async function runTests(
  github: GitHubClient,
  deps: RunTestsDeps,
  payload: RunTestsPayload,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  // 1. Only this repository's task: a devsys/<id> branch elsewhere names nothing of ours.
  const task = await deps.store.getTask({ repo: payload.repo.fullName, id: payload.taskId })
  if (!task)
    return {
      status: 'skipped',
      reason: 'task-gone',
      summary: `task ${payload.taskId} no longer exists`,
    }
  // 2. In the check run (queued by whoever asked, or by a first attempt, else new): run the
  //    tests, and complete it with their result.
  const resumed = resumableRun(await deps.store.latestTestRun(task), payload)
  const check = testsCheck(payload, task.id, resumed?.checkRunId ?? payload.checkRunId)
  const tested = await withCheckRun(github, check, {
    opened: async (checkRunId) =>
      resumed ?? (await deps.store.startTestRun({ task, headSha: payload.headSha, checkRunId })),
    work: async (checkRunId, run) => {
      await deps.store.updateTestRun(run.id, { state: 'in_progress', checkRunId })
      const { outcome, config } = await testCommit(github, deps, payload, task, run.id, log, signal)
      const view = formatTestOutcome(outcome)
      const value: Tested = { runId: run.id, outcome, view, config }
      return { check: testCheckResult(outcome, view), value }
    },
  })
  await recordTestResult(deps.store, tested.runId, tested.outcome, tested.view)
  const where = { installationId: payload.installationId, url: task.code?.pullRequest?.url ?? null }
  await publish(deps.notify, testsCompleted(await deps.store.getTestRun(tested.runId), where))
  // 3. The PR reflects the result.
  await updatePullRequest(github, deps, payload, task, tested)
  const { view } = tested
  if (view.conclusion !== 'success') {
    return { status: 'rejected', reason: `tests-${view.conclusion}`, summary: view.title }
  }
  return { status: 'done', summary: view.title, details: view.counts }
}

/** The `DevSys / tests` check run of the payload's commit. */
function testsCheck(
  payload: RunTestsPayload,
  taskId: string,
  existing: number | undefined,
): OwnedCheckRun {
  return {
    owner: payload.repo.owner,
    repo: payload.repo.name,
    name: TESTS_CHECK,
    headSha: payload.headSha,
    externalId: taskId,
    existing,
  }
}

/** A retry picks up the run (and check run) its first attempt started. */
function resumableRun(
  previous: TestRun | undefined,
  payload: RunTestsPayload,
): (TestRun & { checkRunId: number }) | undefined {
  return previous?.headSha === payload.headSha &&
    previous.state !== 'completed' &&
    previous.checkRunId !== null &&
    (payload.checkRunId === undefined || previous.checkRunId === payload.checkRunId)
    ? { ...previous, checkRunId: previous.checkRunId }
    : undefined
}

/** Runs the task's tests on exactly the commit under test, in the repo config's runner. */
async function testCommit(
  github: GitHubClient,
  deps: RunTestsDeps,
  payload: RunTestsPayload,
  task: Task,
  runId: number,
  log: Logger,
  signal: AbortSignal,
): Promise<{ outcome: TestOutcome; config: RepoConfig | undefined }> {
  // What to run (the manifest) and where (the repo config's runner).
  const parsed = parseTaskManifest(task, deps.maxManifestBytes)
  const loaded = await fetchRepoConfig(github, {
    owner: payload.repo.owner,
    repo: payload.repo.name,
  })
  if (!parsed.ok || !loaded.ok) {
    const what = parsed.ok
      ? `${REPO_CONFIG_PATH} is invalid`
      : 'the stored manifest is no longer valid'
    return {
      outcome: { kind: 'not-run', reason: `${what}; fix it and run the check again` },
      config: undefined,
    }
  }
  const runner = await deps.runner(loaded.config.runner, log)
  const token = await installationToken(github, payload.installationId)
  const outcome = await deps.git.withWorkspace(
    payload.repo,
    `devsys/${task.id}`,
    { token },
    async (ws) => {
      await ws.git.raw(['checkout', '--detach', payload.headSha])
      return runTaskTests({ runner, workspace: ws.dir, manifest: parsed.manifest, signal, log })
    },
    signal,
  )
  if (outcome.kind !== 'not-run')
    await deps.store.updateTestRun(runId, { state: 'in_progress', runner: outcome.runner })
  return { outcome, config: loaded.config }
}

/** The PR's status comment says how the tests went; passing tests take a draft out of draft. */
async function updatePullRequest(
  github: GitHubClient,
  deps: RunTestsDeps,
  payload: RunTestsPayload,
  task: Task,
  { view, config }: Tested,
): Promise<void> {
  const pr = task.code?.pullRequest
  if (!pr) return
  const target = { owner: payload.repo.owner, repo: payload.repo.name }
  const reply = replyOn(github, deps.store, {
    ...target,
    issue: pr.number,
    kind: PR_STATUS_COMMENT,
  })
  await reply.say(view.comment)
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
