import { renderSummaryMarkdown } from '../../runner/junit/summarize.js'
import type { TestReport } from '../../runner/junit/types.js'
import type { CapturedOutput, RunnerKind } from '../../runner/types.js'
import { redact } from '../secrets/redact.js'
import { type CheckConclusion, fitCheckText } from './check-run.js'

interface RunOutput {
  runner: RunnerKind
  exitCode: number | null
  durationMs: number
  stdout: CapturedOutput
  stderr: CapturedOutput
}

/** How a test run ended, as the check run and the PR will tell it. */
export type TestOutcome =
  | { kind: 'not-run'; reason: string }
  | ({ kind: 'timed-out' | 'no-report'; reason: string } & RunOutput)
  | ({ kind: 'report'; report: TestReport } & RunOutput)

export interface TestView {
  conclusion: CheckConclusion
  title: string
  summary: string
  text?: string
  /** Numbers and the reason, stored with the run and returned by the API. */
  counts: Record<string, unknown>
  /** The PR's status comment. */
  comment: string
}

const OUTPUT_TAIL = 8_000

/** Turns a run's outcome into what GitHub shows: conclusion, title, summary and output. */
export function formatTestOutcome(outcome: TestOutcome): TestView {
  if (outcome.kind === 'not-run') {
    return {
      conclusion: 'failure',
      title: 'Tests not run',
      summary: `DevSys did not run the tests: ${outcome.reason}.`,
      counts: { reason: outcome.reason },
      comment: `### DevSys tests: not run\n\n${outcome.reason}.`,
    }
  }
  const text = outputText(outcome)
  if (outcome.kind !== 'report') {
    const conclusion: CheckConclusion = outcome.kind === 'timed-out' ? 'timed_out' : 'failure'
    const title = outcome.kind === 'timed-out' ? 'Tests timed out' : 'No test report'
    return {
      conclusion,
      title,
      summary: `${capitalize(outcome.reason)}.\n\nRunner: ${outcome.runner}, ${seconds(outcome.durationMs)}.`,
      text,
      counts: {
        reason: outcome.reason,
        exitCode: outcome.exitCode,
        durationMs: outcome.durationMs,
      },
      comment: `### DevSys tests: ${title.toLowerCase()}\n\n${capitalize(outcome.reason)}.`,
    }
  }
  const { report } = outcome
  const broken = report.failed + report.errored
  const counts = {
    tests: report.tests,
    passed: report.passed,
    failed: report.failed,
    errored: report.errored,
    skipped: report.skipped,
    timeMs: report.timeMs,
    exitCode: outcome.exitCode,
  }
  // A report can pass while the command failed (a crash after the report was written), or hold
  // no test at all: neither is a green run.
  const reason =
    broken > 0
      ? `${broken} of ${report.tests} tests failed`
      : report.tests === 0
        ? 'the report holds no test case'
        : outcome.exitCode !== 0
          ? `every test passed but the test command exited with code ${outcome.exitCode ?? 'none'}`
          : undefined
  const title =
    reason === undefined ? `${report.passed} passed, ${report.skipped} skipped` : capitalize(reason)
  return {
    conclusion: reason === undefined ? 'success' : 'failure',
    title,
    summary: renderSummaryMarkdown(report),
    text,
    counts: reason === undefined ? counts : { ...counts, reason },
    comment: `### DevSys tests: ${reason === undefined ? 'passed' : 'failed'}\n\n${title} (${report.tests} tests, ${seconds(report.timeMs)}, ${outcome.runner} runner).`,
  }
}

function outputText(output: RunOutput): string {
  const section = (name: string, captured: CapturedOutput) => {
    const dropped =
      captured.droppedBytes > 0
        ? ` (last part; ${captured.droppedBytes} earlier bytes not kept)`
        : ''
    // Redacted before it is cut: a secret across the cut would otherwise show its second half.
    const tail = redact(captured.text).slice(-OUTPUT_TAIL)
    return `#### ${name}${dropped}\n\n\`\`\`\n${tail.replace(/```/g, "'''")}\n\`\`\``
  }
  return fitCheckText(
    [
      `Exit code: ${output.exitCode ?? 'none (killed)'}`,
      section('stdout', output.stdout),
      section('stderr', output.stderr),
    ].join('\n\n'),
  )
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
