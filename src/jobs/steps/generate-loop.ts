import type { Logger } from 'pino'
import type { Runner } from '../../../runner/types.js'
import type { GitHubClient } from '../../app-deps.js'
import type { RepoConfig } from '../../config/load-repo-config.js'
import type { LoopOptions } from '../../generate/run-generation.js'
import type { LoopIteration, LoopResult } from '../../generate/self-fix-loop.js'
import { withCleanCheckout } from '../../git/with-clean-checkout.js'
import type { Manifest } from '../../manifest/types.js'
import { createCheckRun, failCheckRun, updateCheckRunOutput } from '../../report/check-run.js'
import { completeTestRun } from '../../report/complete-test-run.js'
import {
  formatIterationCheck,
  formatLoopReport,
  type LoopLimits,
} from '../../report/format-iterations.js'
import { formatTestOutcome } from '../../report/format-tests.js'
import { redact } from '../../secrets/redact.js'
import type {
  Generation,
  GenerationIteration,
  GenerationStore,
  Task,
  TestRunStore,
} from '../../store/store.js'
import { runTaskTests } from '../../testing/run-task-tests.js'
import { TESTS_CHECK } from '../../triggers/job-payloads.js'

type LoopStore = Pick<
  GenerationStore & TestRunStore,
  | 'startGeneration'
  | 'saveIteration'
  | 'finishGeneration'
  | 'listGenerations'
  | 'startTestRun'
  | 'updateTestRun'
  | 'getTestRun'
  | 'latestTestRun'
>

/** An iteration's test run whose check run is in progress. */
interface OpenRun {
  checkRunId: number
  runId: number
  headSha: string
}

/** The GitHub side of one generate job's self-fix loop: its check runs and stored records. */
export interface GenerateLoop {
  options: LoopOptions
  limits: LoopLimits
  /** After the loop: the head's check run learns how the loop ended, the generation is closed. */
  finish(loop: LoopResult): Promise<void>
  /** The job failed: no check run is left in progress, the generation is closed as an error. */
  fail(error: unknown): Promise<void>
}

/**
 * Sets up the self-fix loop of a generate job. Each iteration's tests get their own
 * `DevSys / tests` check run on the iteration's commit, started when the tests start and
 * completed when they end: failed with "iteration N+1 is fixing them" while the loop goes on,
 * or with the whole story (the iterations table, the agent's activity) when it stops. The
 * last one is the task's test result: no `run-tests` job tests the same commit again.
 */
export async function startGenerateLoop(input: {
  github: GitHubClient
  store: LoopStore
  target: { owner: string; repo: string }
  task: Task
  manifest: Manifest
  config: RepoConfig
  generator: string
  reason: string
  runner: () => Promise<Runner>
  now?: (() => number) | undefined
  signal: AbortSignal
  log: Logger
}): Promise<GenerateLoop> {
  const { github, store, target, task, config } = input
  const limits = {
    maxIterations: config.generator.maxIterations,
    budgetSeconds: config.generator.budgetSeconds,
  }
  await closeDeadGenerations(github, store, target, task)
  const lastRun = await store.latestTestRun(task)
  const generation = await store.startGeneration({
    task,
    generator: input.generator,
    reason: input.reason,
    ...limits,
  })
  let runner: Runner | undefined
  /** The iteration whose tests run now (its check run is in progress). */
  let open: OpenRun | undefined
  /** Check runs by commit, to tell the head's how the loop ended. */
  const checks = new Map<string, { checkRunId: number; title: string }>()

  const options: LoopOptions = {
    maxIterations: limits.maxIterations,
    budgetMs: limits.budgetSeconds * 1000,
    testedSha: lastRun?.headSha,
    ...(input.now === undefined ? {} : { now: input.now }),
    async test(ws, sha, iteration) {
      const checkRunId = await createCheckRun(github, {
        ...target,
        name: TESTS_CHECK,
        headSha: sha,
        externalId: task.id,
        inProgressTitle: `Iteration ${iteration} of ${limits.maxIterations}: running the tests`,
      })
      const run = await store.startTestRun({ task, headSha: sha, checkRunId })
      open = { checkRunId, runId: run.id, headSha: sha }
      await store.updateTestRun(run.id, { state: 'in_progress' })
      // Recorded now, so that a DevSys that dies during the tests can close this check run.
      await store.saveIteration(generation.id, {
        ...emptyIteration(iteration, sha),
        testRunId: run.id,
      })
      runner ??= await input.runner()
      const testing = runner
      const outcome = await withCleanCheckout(ws, sha, (dir) =>
        runTaskTests({
          runner: testing,
          workspace: dir,
          manifest: input.manifest,
          signal: input.signal,
          log: input.log,
        }),
      )
      if (outcome.kind !== 'not-run')
        await store.updateTestRun(run.id, { state: 'in_progress', runner: outcome.runner })
      return { outcome, testRunId: run.id }
    },
    async tested(iteration, end, loop) {
      if (open === undefined || iteration.outcome === null) return
      const view = formatTestOutcome(iteration.outcome)
      const check = formatIterationCheck(iteration, end, view.title, limits)
      const lead = end === undefined ? check.lead : formatLoopReport({ ...loop, end }, limits)
      await completeTestRun(github, store, {
        ...target,
        ...open,
        outcome: iteration.outcome,
        view: { ...view, title: check.title, summary: `${lead}\n\n${view.summary}` },
      })
      if (iteration.headSha !== null)
        checks.set(iteration.headSha, { checkRunId: open.checkRunId, title: check.title })
      open = undefined
    },
    save: (iteration) => store.saveIteration(generation.id, toRecord(iteration)),
  }

  return {
    options,
    limits,
    async finish(loop) {
      // An iteration that failed or changed nothing left the branch at an earlier iteration's
      // commit, whose check run still says "iteration N+1 is fixing them".
      const head = checks.get(loop.sha)
      if ((loop.end === 'agent-failed' || loop.end === 'unchanged') && head !== undefined) {
        const last = loop.iterations.length
        await updateCheckRunOutput(github, {
          ...target,
          checkRunId: head.checkRunId,
          title: `${head.title.replace(/^Iteration \d+ of \d+: /, '')}; iteration ${last} ${loop.end === 'unchanged' ? 'changed nothing' : 'failed'}`,
          summary: formatLoopReport(loop, limits),
        })
      }
      await store.finishGeneration(generation.id, {
        state:
          loop.end === 'passed' || loop.end === 'untested'
            ? 'passed'
            : loop.end === 'agent-failed' || loop.end === 'unchanged'
              ? 'stopped'
              : 'failed',
        stopReason: loop.end,
        headSha: loop.sha,
      })
    },
    async fail(error) {
      if (open !== undefined) {
        await closeCheckRun(github, store, target, open, error)
        open = undefined
      }
      await store.finishGeneration(generation.id, {
        state: 'error',
        stopReason: 'job-failed',
        headSha: null,
      })
    },
  }
}

/**
 * Generations of this task still marked running belong to a DevSys that died (generate jobs of
 * one task never run at once): their check run in progress is completed, never left hanging.
 */
export async function closeDeadGenerations(
  github: GitHubClient,
  store: Pick<
    GenerationStore & TestRunStore,
    'listGenerations' | 'getTestRun' | 'updateTestRun' | 'finishGeneration'
  >,
  target: { owner: string; repo: string },
  task: Task,
): Promise<void> {
  for (const dead of (await store.listGenerations(task, 5)).filter((g) => g.state === 'running')) {
    await closeOpenRuns(github, store, target, dead)
    await store.finishGeneration(dead.id, {
      state: 'error',
      stopReason: 'interrupted',
      headSha: dead.iterations.at(-1)?.headSha ?? null,
    })
  }
}

async function closeOpenRuns(
  github: GitHubClient,
  store: Pick<TestRunStore, 'getTestRun' | 'updateTestRun'>,
  target: { owner: string; repo: string },
  generation: Generation,
): Promise<void> {
  for (const it of generation.iterations) {
    if (it.testRunId === null) continue
    const run = await store.getTestRun(it.testRunId)
    if (run === undefined || run.state === 'completed' || run.checkRunId === null) continue
    await closeCheckRun(
      github,
      store,
      target,
      { checkRunId: run.checkRunId, runId: run.id, headSha: run.headSha },
      'DevSys stopped while the tests ran (it was restarted or the job failed)',
    )
  }
}

async function closeCheckRun(
  github: GitHubClient,
  store: Pick<TestRunStore, 'updateTestRun'>,
  target: { owner: string; repo: string },
  run: OpenRun,
  error: unknown,
): Promise<void> {
  const reason = redact(error instanceof Error ? error.message : String(error))
  const check = { ...target, name: TESTS_CHECK, headSha: run.headSha, existing: run.checkRunId }
  await failCheckRun(github, check, {
    title: 'DevSys could not finish the tests',
    summary: `${reason}\n\nRe-run the check or comment \`/test\` to test this commit again.`,
  })
  await store.updateTestRun(run.runId, {
    state: 'completed',
    conclusion: 'failure',
    summary: { reason },
  })
}

function emptyIteration(iteration: number, sha: string): GenerationIteration {
  return {
    iteration,
    headSha: sha,
    committed: true,
    files: [],
    testRunId: null,
    tests: null,
    activity: null,
    error: null,
    durationMs: 0,
  }
}

/** The stored part of an iteration (without the test outcome, which its test run keeps). */
function toRecord(it: LoopIteration): GenerationIteration {
  return {
    iteration: it.iteration,
    headSha: it.headSha,
    committed: it.committed,
    files: it.files,
    testRunId: it.testRunId,
    tests: it.tests,
    activity: it.activity,
    error: it.error,
    durationMs: it.durationMs,
  }
}
