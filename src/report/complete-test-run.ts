import { toAnnotations } from '../../runner/junit/summarize.js'
import type { GitHubClient } from '../app-deps.js'
import type { Store } from '../store/store.js'
import { completeCheckRun } from './check-run.js'
import type { TestOutcome, TestView } from './format-tests.js'

/** Annotations sent per run: 10 requests of 50; the summary lists every failure anyway. */
const MAX_ANNOTATIONS = 500

/**
 * Completes a test run: its `DevSys / tests` check run (conclusion, summary with failures first,
 * an annotation on each failing line, 50 per request) and its stored record.
 */
export async function completeTestRun(
  github: Pick<GitHubClient, 'rest'>,
  store: Pick<Store, 'updateTestRun'>,
  run: {
    owner: string
    repo: string
    checkRunId: number
    runId: number
    outcome: TestOutcome
    view: Pick<TestView, 'conclusion' | 'title' | 'summary' | 'text' | 'counts'>
  },
): Promise<void> {
  const { outcome, view } = run
  await completeCheckRun(github, {
    owner: run.owner,
    repo: run.repo,
    checkRunId: run.checkRunId,
    conclusion: view.conclusion,
    title: view.title,
    summary: view.summary,
    ...(view.text === undefined ? {} : { text: view.text }),
    annotations:
      outcome.kind === 'report' ? toAnnotations(outcome.report, { max: MAX_ANNOTATIONS }) : [],
  })
  await store.updateTestRun(run.runId, {
    state: 'completed',
    conclusion: view.conclusion,
    summary: view.counts,
    ...(outcome.kind === 'report' ? { report: outcome.report } : {}),
  })
}
