import { caseTitle, failuresFirst } from '../../runner/junit/summarize.js'
import type { FailingTest, TestFeedback } from '../generate/types.js'
import { formatTestOutcome, type TestOutcome } from '../report/format-tests.js'
import { redact } from '../secrets/redact.js'

/** Failing tests handed to the agent; the summary line still counts them all. */
const MAX_FAILURES = 50
const MESSAGE_CHARS = 2_000
const DETAILS_CHARS = 4_000
const OUTPUT_TAIL_CHARS = 8_000

/**
 * What the agent is told about a failed test run: a one-line summary, the failing and erroring
 * cases (name, message, file:line, details, capped) and the end of the output, redacted.
 */
export function toTestFeedback(outcome: TestOutcome): TestFeedback {
  const view = formatTestOutcome(outcome)
  const reason = view.counts.reason
  const summary = typeof reason === 'string' ? reason : view.title
  if (outcome.kind === 'not-run') return { summary, failures: [], outputTail: '' }
  const output = redact(`${outcome.stdout.text}\n${outcome.stderr.text}`.trim())
  const failures: FailingTest[] =
    outcome.kind !== 'report'
      ? []
      : failuresFirst(outcome.report)
          .filter((c) => c.status === 'failed' || c.status === 'errored')
          .slice(0, MAX_FAILURES)
          .map((c) => ({
            name: caseTitle(c),
            status: c.status === 'errored' ? 'errored' : 'failed',
            ...(c.message === undefined
              ? {}
              : { message: redact(c.message).slice(0, MESSAGE_CHARS) }),
            ...(c.file === undefined ? {} : { file: c.file }),
            ...(c.line === undefined ? {} : { line: c.line }),
            ...(c.details === undefined
              ? {}
              : { details: redact(c.details).slice(0, DETAILS_CHARS) }),
          }))
  return { summary, failures, outputTail: output.slice(-OUTPUT_TAIL_CHARS) }
}
