import { parseJUnit } from '../../runner/junit/parse-junit.js'
import type { ReportFile } from '../../runner/types.js'
import { PHPUNIT } from '../../test/runner/blog-workspace.js'

export type WorkloadName = 'blog' | 'trivial'

/** A command run in the generated blog's work tree by every variant. */
export interface Workload {
  name: WorkloadName
  command: string[]
  /** Where the command writes its JUnit report, relative to the work tree. */
  junitPath: string
  /** The fewest test cases the report must hold. */
  minTests: number
}

/** The report the trivial command writes: one passing case. */
export const TRIVIAL_REPORT =
  '<testsuite name="noop" tests="1"><testcase name="noop" classname="noop"/></testsuite>'

export const WORKLOADS: readonly Workload[] = [
  // The blog's real test command, as the repo config gives it.
  { name: 'blog', command: PHPUNIT, junitPath: 'build/junit.xml', minTests: 1 },
  // Next to nothing: `sh` writes a fixed report, so the runner's fixed cost is what remains.
  {
    name: 'trivial',
    command: ['sh', '-c', `mkdir -p build && echo '${TRIVIAL_REPORT}' > build/junit.xml`],
    junitPath: 'build/junit.xml',
    minTests: 1,
  },
]

/** What a run left: its exit, and the report it wrote (or not). */
export interface RunOutcome {
  exitCode: number | null
  timedOut: boolean
  report: ReportFile
  /** The end of stderr, to say what went wrong. */
  stderrTail: string
}

export type Checked = { ok: true; tests: number } | { ok: false; problem: string }

/** A run counts when the command exited 0 and wrote a JUnit report with enough test cases. */
export function checkOutcome(workload: Workload, outcome: RunOutcome): Checked {
  const stderr = outcome.stderrTail.trim().slice(-400)
  if (outcome.timedOut) return { ok: false, problem: 'timed out' }
  if (outcome.exitCode !== 0) {
    return { ok: false, problem: `exit code ${outcome.exitCode}${stderr ? `: ${stderr}` : ''}` }
  }
  if (outcome.report.kind !== 'found') {
    return {
      ok: false,
      problem: `no JUnit report at ${workload.junitPath} (${outcome.report.kind})`,
    }
  }
  const parsed = parseJUnit(outcome.report.xml)
  if (!parsed.ok) return { ok: false, problem: `unreadable JUnit report: ${parsed.error.message}` }
  const { tests, failed, errored } = parsed.report
  if (tests < workload.minTests) {
    return {
      ok: false,
      problem: `the report has ${tests} tests, expected at least ${workload.minTests}`,
    }
  }
  if (failed + errored > 0) {
    return { ok: false, problem: `${failed} failed and ${errored} errored of ${tests} tests` }
  }
  return { ok: true, tests }
}
