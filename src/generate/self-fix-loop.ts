import type { CommitResult } from '../git/commit-changes.js'
import { formatTestOutcome, type TestOutcome } from '../report/format-tests.js'
import type { GenerationIteration } from '../store/store.js'
import { toTestFeedback } from '../testing/test-feedback.js'
import { GenerateError, type GenerateResult, type TestFeedback } from './types.js'

/** Why the loop ended. */
export type LoopEnd =
  /** The last iteration's tests pass. */
  | 'passed'
  /** generator.maxIterations runs, the last one's tests failing. */
  | 'max-iterations'
  /** generator.budgetSeconds spent after an iteration whose tests failed. */
  | 'budget'
  /** The agent failed (crashed, timed out, broke a rule) in a later iteration. */
  | 'agent-failed'
  /** The agent changed nothing in a later iteration: the same tests would fail again. */
  | 'unchanged'
  /** The first iteration changed nothing and that commit was tested before: nothing to do. */
  | 'untested'

/** One iteration as the loop keeps it: the stored record, and the test outcome it reports. */
export interface LoopIteration extends GenerationIteration {
  summary: string
  outcome: TestOutcome | null
}

/** The loop's iterations and outcome so far: what the reports are made of. */
export type LoopSoFar = Pick<LoopResult, 'iterations' | 'outcome'> & { end?: LoopEnd }

export interface LoopResult {
  iterations: LoopIteration[]
  end: LoopEnd
  /** The branch tip after the loop. */
  sha: string
  /** Whether any iteration committed. */
  committed: boolean
  /** Every file some iteration changed, sorted. */
  files: string[]
  /** The last tested iteration's outcome (null when nothing was tested). */
  outcome: TestOutcome | null
  /** The agent's failure that ended the loop, for 'agent-failed'. */
  error?: GenerateError
}

/** What one iteration does, provided by the caller (the generate job or local mode). */
export interface LoopSteps {
  /** Runs the generator in the work tree. */
  generate(iteration: number, previousTests: TestFeedback | undefined): Promise<GenerateResult>
  commit(message: string): Promise<CommitResult>
  push(): Promise<void>
  /** Runs the task's tests on the commit `sha` (starting its check run). */
  test(sha: string, iteration: number): Promise<{ outcome: TestOutcome; testRunId: number | null }>
  /**
   * The iteration's tests are done; `end` says whether and why the loop stops after it, `loop`
   * is the loop so far (this iteration last).
   */
  tested(iteration: LoopIteration, end: LoopEnd | undefined, loop: LoopSoFar): Promise<void>
  /** Records the iteration (after `tested`, or when it ended without tests). */
  save(iteration: LoopIteration): Promise<void>
}

export interface LoopSettings {
  maxIterations: number
  budgetMs: number
  /** The commit message of the first iteration. */
  message: string
  /** A commit whose tests already ran: a first iteration that changes nothing is not retested. */
  testedSha?: string | undefined
  now?: () => number
}

/**
 * The self-fix loop: the agent writes, DevSys commits and pushes, the task's tests run in the
 * sandbox; while they fail and iterations and time are left, the agent runs again with the
 * failures. Each iteration is one commit, pushed at once, so an agent that fails in a later
 * iteration loses nothing of the earlier ones. The budget is checked before an iteration starts:
 * a running agent or test run is never cut short by it (each has its own time limit).
 * A GenerateError in the first iteration is thrown (nothing was pushed); later ones end the loop.
 */
export async function runSelfFixLoop(
  steps: LoopSteps,
  settings: LoopSettings,
): Promise<LoopResult> {
  const now = settings.now ?? Date.now
  const started = now()
  const iterations: LoopIteration[] = []
  const files = new Set<string>()
  let previous: TestFeedback | undefined
  let sha = ''
  let committed = false
  let outcome: TestOutcome | null = null
  const result = (end: LoopEnd, error?: GenerateError): LoopResult => ({
    iterations,
    end,
    sha,
    committed,
    files: [...files].sort(),
    outcome,
    ...(error === undefined ? {} : { error }),
  })

  for (let i = 1; ; i += 1) {
    const begun = now()
    let generated: GenerateResult
    try {
      generated = await steps.generate(i, previous)
    } catch (error) {
      if (i === 1 || !(error instanceof GenerateError)) throw error
      const failed = blankIteration(i, sha, now() - begun, error.message)
      iterations.push(failed)
      await steps.save(failed)
      return result('agent-failed', error)
    }
    const commit = await steps.commit(
      i === 1 ? settings.message : fixMessage(i, settings.maxIterations, previous),
    )
    if (commit.committed) await steps.push()
    sha = commit.sha
    committed ||= commit.committed
    for (const file of commit.files) files.add(file)
    const iteration: LoopIteration = {
      ...blankIteration(i, commit.sha, 0, null),
      committed: commit.committed,
      files: commit.files,
      summary: generated.summary,
      activity: generated.activity ?? null,
    }
    iterations.push(iteration)
    const unchanged = !commit.committed && (i > 1 || settings.testedSha === commit.sha)
    if (unchanged) {
      iteration.durationMs = now() - begun
      await steps.save(iteration)
      return result(i > 1 ? 'unchanged' : 'untested')
    }

    const tests = await steps.test(commit.sha, i)
    outcome = tests.outcome
    const view = formatTestOutcome(tests.outcome)
    iteration.outcome = tests.outcome
    iteration.testRunId = tests.testRunId
    iteration.tests = { conclusion: view.conclusion, title: view.title, counts: view.counts }
    iteration.durationMs = now() - begun
    const end: LoopEnd | undefined =
      view.conclusion === 'success'
        ? 'passed'
        : i >= settings.maxIterations
          ? 'max-iterations'
          : now() - started >= settings.budgetMs
            ? 'budget'
            : undefined
    await steps.tested(iteration, end, {
      iterations,
      outcome,
      ...(end === undefined ? {} : { end }),
    })
    await steps.save(iteration)
    if (end !== undefined) return result(end)
    previous = toTestFeedback(tests.outcome)
  }
}

function blankIteration(
  i: number,
  sha: string,
  durationMs: number,
  error: string | null,
): LoopIteration {
  return {
    iteration: i,
    headSha: sha === '' ? null : sha,
    committed: false,
    files: [],
    testRunId: null,
    tests: null,
    activity: null,
    error,
    durationMs,
    summary: '',
    outcome: null,
  }
}

/** "Fix 2 failing tests (iteration 2 of 3)", with the failing tests in the body. */
export function fixMessage(i: number, max: number, previous: TestFeedback | undefined): string {
  const failures = previous?.failures ?? []
  const what =
    failures.length > 0
      ? `Fix ${failures.length} failing test${failures.length === 1 ? '' : 's'}`
      : `Fix the tests: ${previous?.summary ?? 'they failed'}`
  const title = `${what} (iteration ${i} of ${max})`.slice(0, 200)
  const listed = failures.slice(0, 10).map((f) => `- ${f.name.replace(/\s+/g, ' ').slice(0, 150)}`)
  if (failures.length > listed.length)
    listed.push(`- … and ${failures.length - listed.length} more`)
  return listed.length === 0
    ? title
    : `${title}\n\nThe tests of iteration ${i - 1} failed:\n${listed.join('\n')}`
}
