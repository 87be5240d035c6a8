import type { RepoFiles } from './repo-files.js'
import type { SuiteSummary, TestCase } from './types.js'

/**
 * What parseJUnit's walk carries from case to case. It lives apart from parse-junit.ts so that
 * read-case.ts and locate-case.ts, which parse-junit.ts imports, can take it without a cycle.
 */
export interface WalkContext {
  /** The workspace from workspaceRoot(), '' for none. */
  root: string
  /** relativePath() against the workspace, remembered: a report names few files many times. */
  relative: (file: string) => string
  maxDetails: number
  maxOutput: number
  /** Characters of `details` the report may still keep (maxTotalDetailsChars). */
  detailsLeft: number
  /** Cases that may still be placed from their text (maxLocatedCases): failures and skips apart. */
  locate: { broken: { left: number }; skipped: { left: number } }
  /** One copy of a string many cases repeat (a classname), remembered. */
  shared: (text: string) => string
  /** The checkout's files (ParseJUnitOptions.repoFiles), indexed. */
  files: RepoFiles
  /** pytest's xunit1 `line` attribute counts from 0. */
  zeroBasedLines: boolean
  cases: TestCase[]
  suites: SuiteSummary[]
}
