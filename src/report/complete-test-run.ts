import { toAnnotations } from '../../runner/junit/summarize.js'
import type { GitHubClient } from '../app-deps.js'
import type { TestRunStore } from '../store/store.js'
import { type CheckRunResult, completeCheckRun } from './check-run.js'
import type { TestOutcome, TestView } from './format-tests.js'

/** Annotations sent per run: 10 requests of 50; the summary lists every failure anyway. */
const MAX_ANNOTATIONS = 500

type View = Pick<TestView, 'conclusion' | 'title' | 'summary' | 'text' | 'counts'>

/** How a `DevSys / tests` check run ends: conclusion, summary with failures first, annotations. */
export function testCheckResult(outcome: TestOutcome, view: View): CheckRunResult {
  return {
    conclusion: view.conclusion,
    title: view.title,
    summary: view.summary,
    ...(view.text === undefined ? {} : { text: view.text }),
    annotations:
      outcome.kind === 'report' ? toAnnotations(outcome.report, { max: MAX_ANNOTATIONS }) : [],
  }
}

/** Closes a stored test run with its result. */
export async function recordTestResult(
  store: Pick<TestRunStore, 'updateTestRun'>,
  runId: number,
  outcome: TestOutcome,
  view: View,
): Promise<void> {
  await store.updateTestRun(runId, {
    state: 'completed',
    conclusion: view.conclusion,
    summary: view.counts,
    ...(outcome.kind === 'report' ? { report: outcome.report } : {}),
  })
}

/**
 * Completes a test run: its `DevSys / tests` check run (conclusion, summary with failures first,
 * an annotation on each failing line, 50 per request) and its stored record.
 */
export async function completeTestRun(
  github: Pick<GitHubClient, 'rest'>,
  store: Pick<TestRunStore, 'updateTestRun'>,
  run: {
    owner: string
    repo: string
    checkRunId: number
    runId: number
    outcome: TestOutcome
    view: View
  },
): Promise<void> {
  await completeCheckRun(github, {
    owner: run.owner,
    repo: run.repo,
    checkRunId: run.checkRunId,
    ...testCheckResult(run.outcome, run.view),
  })
  await recordTestResult(store, run.runId, run.outcome, run.view)
}
