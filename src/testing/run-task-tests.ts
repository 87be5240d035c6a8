import type { Logger } from 'pino'
import { parseJUnitReport } from '../../runner/junit/parse-junit-report.js'
import type { Runner, RunResult } from '../../runner/types.js'
import { gitEnv, openGit } from '../git/git-env.js'
import type { Manifest } from '../manifest/types.js'
import type { TestOutcome } from '../report/format-tests.js'

export const MAX_OUTPUT_BYTES = 1024 * 1024
export const MAX_REPORT_BYTES = 200 * 1024 * 1024
/** Files of the checkout handed to the parser; past this many, bare file names stay unplaced. */
const MAX_REPO_FILES = 200_000

/**
 * Runs a task's test command on a checked-out work tree in the runner's sandbox, and reads its
 * JUnit report (in a worker: big reports take seconds). A missing or broken report is its own
 * outcome, never "0 tests". The `run-tests` job and the self-fix loop share it.
 */
export async function runTaskTests(input: {
  runner: Runner
  /** The checkout; the runner copies it, so the tests cannot change it. */
  workspace: string
  manifest: Manifest
  signal: AbortSignal
  log: Logger
}): Promise<TestOutcome> {
  // The checkout's files, for report locations that name a file without its folder (Java).
  const listed = await openGit(input.workspace, gitEnv()).raw(['ls-files', '-z'])
  const files = listed
    .split('\0')
    .filter((f) => f !== '')
    .slice(0, MAX_REPO_FILES)
  const { tests } = input.manifest
  const result = await input.runner.run({
    workspace: input.workspace,
    command: tests.command,
    junitPath: tests.junit,
    timeoutMs: tests.timeoutSeconds * 1000,
    maxOutputBytes: MAX_OUTPUT_BYTES,
    maxReportBytes: MAX_REPORT_BYTES,
    signal: input.signal,
    log: input.log,
  })
  return toOutcome(result, input.manifest, files)
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
  const parsed = await parseJUnitReport(result.report.xml, {
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
