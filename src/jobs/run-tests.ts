import type { Logger } from 'pino'
import { parseJUnitInWorker } from '../../runner/junit/parse-junit-in-worker.js'
import { toAnnotations } from '../../runner/junit/summarize.js'
import type { Runner, RunResult } from '../../runner/types.js'
import type { GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import type { RepoConfig } from '../config/load-repo-config.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import type { RepoRef } from '../git/types.js'
import { installationToken } from '../github/installation-token.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { Manifest } from '../manifest/types.js'
import { completeCheckRun, createCheckRun, markCheckRunInProgress } from '../report/check-run.js'
import { formatTestOutcome, type TestOutcome } from '../report/format-tests.js'
import { markReadyForReview } from '../report/pull-request.js'
import { upsertStickyComment } from '../report/sticky-comment.js'
import { updateTaskIssueComment } from '../report/task-issue-comment.js'
import { redact } from '../secrets/redact.js'
import type { Store, Task, TaskRef } from '../store/store.js'
import { PR_STATUS_COMMENT } from './generate-task.js'
import type { JobHandler, Outcome } from './types.js'

/** The check run DevSys reports a task's tests in. */
export const TESTS_CHECK = 'DevSys / tests'

/** Payload of a `run-tests` job: run the task's tests on one commit and report them. */
export interface RunTestsPayload {
  installationId: number
  taskId: string
  repo: RepoRef & { owner: string; name: string; htmlUrl: string }
  headSha: string
  /** The check run created (queued) when the run was asked for, if any. */
  checkRunId?: number
  reason: 'generated' | 'pushed' | 'rerequested' | 'command'
}

export interface RunTestsDeps {
  store: Store
  auth: GitHubAuth
  git: GitWorkspaces
  /** The runner for the repo config's choice (local, docker, remote-ssh or auto). */
  runner: (kind: RepoConfig['runner'], log: Logger) => Promise<Runner>
  maxManifestBytes: number
}

const MAX_OUTPUT_BYTES = 1024 * 1024
const MAX_REPORT_BYTES = 200 * 1024 * 1024
/** Annotations sent per run: 10 requests of 50; the summary lists every failure anyway. */
const MAX_ANNOTATIONS = 500
/** Files of the checkout handed to the parser; past this many, bare file names stay unplaced. */
const MAX_REPO_FILES = 200_000

/** The job key: one test run per task at a time. */
export function testsJobKey(task: TaskRef): string {
  return `tests:${task.repo ?? ''}#${task.id}`
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

  // 3. Run the tests on exactly the commit under test, in the runner's sandbox.
  const { result, files } = await deps.git.withWorkspace(
    payload.repo,
    `devsys/${task.id}`,
    { token },
    async (ws) => {
      await ws.git.raw(['checkout', '--detach', payload.headSha])
      // The checkout's files, for report locations that name a file without its folder (Java).
      const listed = await ws.git.raw(['ls-files', '-z'])
      const files = listed
        .split('\0')
        .filter((f) => f !== '')
        .slice(0, MAX_REPO_FILES)
      const run = await runner.run({
        workspace: ws.dir,
        command: parsed.manifest.tests.command,
        junitPath: parsed.manifest.tests.junit,
        timeoutMs: parsed.manifest.tests.timeoutSeconds * 1000,
        maxOutputBytes: MAX_OUTPUT_BYTES,
        maxReportBytes: MAX_REPORT_BYTES,
        signal,
        log,
      })
      return { result: run, files }
    },
    signal,
  )
  await deps.store.updateTestRun(run.id, { state: 'in_progress', runner: result.runner })

  // 4. Read the report (in a worker: big reports take seconds); a missing or broken report is its
  //    own failure, never "0 tests".
  const outcome = await toOutcome(result, parsed.manifest, files)
  return finish(github, deps, payload, task, run.id, checkRunId, outcome, loaded.config)
}

async function toOutcome(
  result: RunResult,
  manifest: Manifest,
  repoFiles: string[],
): Promise<TestOutcome> {
  const output = {
    stdout: result.stdout,
    stderr: result.stderr,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    runner: result.runner,
  }
  if (result.timedOut) {
    return {
      kind: 'timed-out',
      reason: `the tests did not finish within ${manifest.tests.timeoutSeconds} s and were stopped`,
      ...output,
    }
  }
  if (result.report.kind === 'missing') {
    return {
      kind: 'no-report',
      reason: `the test command wrote no JUnit report at ${manifest.tests.junit} (exit code ${result.exitCode ?? 'none'})`,
      ...output,
    }
  }
  if (result.report.kind === 'too-large') {
    return {
      kind: 'no-report',
      reason: `the JUnit report at ${manifest.tests.junit} is ${result.report.bytes} bytes, over the ${MAX_REPORT_BYTES}-byte limit`,
      ...output,
    }
  }
  const parsed = await parseJUnitInWorker(result.report.xml, {
    workspace: result.workdir,
    repoFiles,
  })
  if (!parsed.ok)
    return {
      kind: 'no-report',
      reason: `the JUnit report at ${manifest.tests.junit} is unusable: ${parsed.error.message}`,
      ...output,
    }
  return { kind: 'report', report: parsed.report, ...output }
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
  // 5. Complete the check run: conclusion, summary (failures first, within GitHub's limit) and
  //    an annotation on each failing line, 50 per request.
  await completeCheckRun(github, {
    ...target,
    checkRunId,
    conclusion: view.conclusion,
    title: view.title,
    summary: view.summary,
    ...(view.text === undefined ? {} : { text: view.text }),
    annotations:
      outcome.kind === 'report' ? toAnnotations(outcome.report, { max: MAX_ANNOTATIONS }) : [],
  })
  await deps.store.updateTestRun(runId, {
    state: 'completed',
    conclusion: view.conclusion,
    summary: view.counts,
    ...(outcome.kind === 'report' ? { report: outcome.report } : {}),
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
