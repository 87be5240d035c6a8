/** What a test case ended as. Surefire's "incomplete" and pytest's xfail are reported as skipped. */
export type TestStatus = 'passed' | 'failed' | 'errored' | 'skipped'

/** One `<testcase>` of a JUnit XML report. */
export interface TestCase {
  /** The enclosing `<testsuite>` names, outermost first, joined with ' › ' (empty names left out). */
  suite: string
  classname?: string
  name: string
  status: TestStatus
  /** From the case's `time` attribute (seconds); 0 when missing or unreadable. */
  timeMs: number
  /** The failure/error/skip `message` attribute, or the first paragraph of its text. */
  message?: string
  /** The failure/error/skip `type` attribute (e.g. `AssertionError`, `pytest.skip`). */
  type?: string
  /** The failure/error/skip element's text (a stack trace, a diff), capped. */
  details?: string
  /** Repository-relative when a workspace was given and the path lies inside it. */
  file?: string
  line?: number
  systemOut?: string
  systemErr?: string
  /** Surefire `<flakyFailure>`/`<flakyError>`: failed at first, then passed on a rerun. */
  flaky?: true
  /** How many reruns the report records (`flaky*` and `rerun*` elements). */
  reruns?: number
}

/** One `<testsuite>` element, with the counts of every case inside it (nested suites included). */
export interface SuiteSummary {
  /** Full path of names, as in `TestCase.suite`. */
  name: string
  file?: string
  tests: number
  passed: number
  failed: number
  errored: number
  skipped: number
  /** The suite's `time` attribute, or the sum of its children when it has none. */
  timeMs: number
}

/** A parsed JUnit XML report. Counts come from the `<testcase>` elements, never from attributes. */
export interface TestReport {
  tests: number
  passed: number
  failed: number
  errored: number
  skipped: number
  /** The root's `time` attribute, or the sum of the top-level suites' times. */
  timeMs: number
  /** Every `<testsuite>`, parents before their children. */
  suites: SuiteSummary[]
  /** Every `<testcase>`, suite by suite: a suite's own cases before those of its nested suites. */
  cases: TestCase[]
}

/** Why a report could not be read. None of these is "0 tests". */
export type JUnitErrorCode = 'empty' | 'not-xml' | 'not-junit' | 'too-large'

export type JUnitResult =
  | { ok: true; report: TestReport }
  | { ok: false; error: { code: JUnitErrorCode; message: string } }

export interface ParseJUnitOptions {
  /** Largest report accepted, in bytes (default 200 MiB). */
  maxBytes?: number
  /** Absolute path of the checkout the tests ran in: file paths inside it are made relative. */
  workspace?: string
  /**
   * The checkout's files, repository-relative: a frame naming only a file (Java's
   * `at pkg.Foo.test(FooTest.java:12)`, PHPT's `Foo.phpt(78)`) is placed on the one file whose path
   * ends with it (for Java and Kotlin also the package's folders). Without it such frames stay
   * unplaced. The parser does no I/O: the caller lists the files.
   */
  repoFiles?: readonly string[]
  /** Cap for `details`, in characters (default 65,536). */
  maxDetailsChars?: number
  /**
   * Budget for the `details` of all cases together, in characters (default 8 MiB): once it is
   * spent (by the last case kept whole, up to maxDetailsChars), later cases (in document order)
   * keep their message but no details. A report of
   * tens of thousands of failures would otherwise carry hundreds of MB of stack traces, of
   * which GitHub shows at most 500 annotations and the agent reads 50.
   */
  maxTotalDetailsChars?: number
  /**
   * How many failing or erroring cases, flaky ones included, are placed from their failure text
   * (default 2,000), and as many skipped ones from theirs, in document order; later ones are
   * placed by their attributes, suite and classname only.
   * Finding frames in stack traces is the costliest part of reading a failure, and only the
   * first 500 are annotated.
   */
  maxLocatedCases?: number
  /** Cap for `systemOut` and `systemErr`, in characters (default 65,536). */
  maxOutputChars?: number
}
