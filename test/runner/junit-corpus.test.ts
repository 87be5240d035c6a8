import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseJUnit } from '../../runner/junit/parse-junit.js'
import { toAnnotations } from '../../runner/junit/summarize.js'

/**
 * Reports of many tools' JUnit dialects (test/fixtures/junit/corpus, see its README), each with
 * the counts users expect and the file:line each failure's annotation must land on.
 */
const W = '/home/runner/work/app/app'
const WIN = 'D:\\a\\app\\app'

/** The checkout the reports came from, as run-tests lists it with `git ls-files`. */
const REPO_FILES = [
  'tests/PostTest.php',
  'tests/phpt/Foo.phpt',
  'tests/phpt/Bar.phpt',
  'tests/test_blog.py',
  'tests/test_api.py',
  'tests/conftest.py',
  'tests/test_views.py',
  'tests/test_models.py',
  'app/views.py',
  'src/cart.test.ts',
  'test/app.spec.js',
  'test/win.spec.js',
  'test/math.test.ts',
  'blog/blog.go',
  'blog/blog_test.go',
  'store/store_test.go',
  'src/test/java/com/acme/blog/PostServiceTest.java',
  'src/main/java/com/acme/blog/PostService.java',
  'src/test/kotlin/com/acme/CartTest.kt',
  'tests/main.cpp',
  'tests/calc_test.cc',
  'src/app/cart.spec.ts',
  'tests/Acme.Tests/CartTests.cs',
  'spec/models/post_spec.rb',
  'src/lib.rs',
  'src/cache.rs',
  'tests/io_test.c',
]

interface Row {
  fixture: string
  workspace?: string
  counts: { tests: number; passed: number; failed: number; errored: number; skipped: number }
  /** Each failed or errored case: `name → path:line` of its annotation. */
  failures: Record<string, string>
  /** Flaky passes (annotated as warnings): `name → path:line`. */
  flaky?: Record<string, string>
}

const c = (tests: number, passed: number, failed: number, errored: number, skipped: number) => ({
  tests,
  passed,
  failed,
  errored,
  skipped,
})

const CORPUS: Row[] = [
  {
    fixture: 'phpunit10.absolute.xml',
    workspace: W,
    counts: c(3, 1, 1, 0, 1),
    failures: { testTitle: 'tests/PostTest.php:15' },
  },
  {
    fixture: 'phpt.message-location.xml',
    counts: c(2, 1, 1, 0, 0),
    failures: { 'Formats a date [tests/phpt/Foo.phpt]': 'tests/phpt/Foo.phpt:78' },
  },
  {
    fixture: 'pytest.xunit1-def-line.xml',
    workspace: W,
    counts: c(2, 1, 1, 0, 0),
    failures: { test_title: 'tests/test_blog.py:12' },
  },
  {
    fixture: 'pytest.xunit2.xml',
    workspace: W,
    counts: c(4, 1, 1, 1, 1),
    failures: { test_get: 'tests/test_api.py:30', test_post: 'tests/conftest.py:8' },
  },
  {
    fixture: 'unittest-xml-reporting.xml',
    workspace: W,
    counts: c(3, 1, 1, 1, 0),
    failures: { test_index: 'tests/test_views.py:13', test_detail: 'tests/test_views.py:18' },
  },
  {
    fixture: 'unittest-xml-reporting.no-file.xml',
    workspace: W,
    counts: c(1, 0, 1, 0, 0),
    failures: { test_save: 'tests/test_models.py:22' },
  },
  {
    fixture: 'jest-junit.filepath-suite.xml',
    workspace: W,
    counts: c(3, 2, 1, 0, 0),
    failures: { 'cart totals sums prices': 'src/cart.test.ts:14' },
    flaky: { 'cart applies a discount': 'src/cart.test.ts:25' },
  },
  {
    fixture: 'mocha-junit-reporter.xml',
    workspace: W,
    counts: c(3, 1, 1, 0, 1),
    failures: { 'app subtracts': 'test/app.spec.js:9' },
  },
  {
    fixture: 'mocha-junit-reporter.windows.xml',
    workspace: WIN,
    counts: c(2, 1, 1, 0, 0),
    failures: { 'win reads paths': 'test/win.spec.js:7' },
  },
  {
    fixture: 'vitest.xml',
    workspace: W,
    counts: c(3, 1, 1, 0, 1),
    failures: { 'math > adds': 'test/math.test.ts:8' },
  },
  {
    fixture: 'go-junit-report.reruns.xml',
    counts: c(4, 2, 1, 0, 1),
    failures: { TestTitle: 'blog/blog_test.go:12' },
    flaky: { TestFlaky: 'blog/blog_test.go:30' },
  },
  {
    fixture: 'gotestsum.rerun-fails.xml',
    counts: c(3, 2, 1, 0, 0),
    failures: { TestSave: 'store/store_test.go:21' },
  },
  {
    fixture: 'surefire.xml',
    counts: c(3, 2, 1, 0, 0),
    failures: { shouldSave: 'src/test/java/com/acme/blog/PostServiceTest.java:42' },
  },
  {
    fixture: 'gradle.kotlin.xml',
    counts: c(3, 1, 1, 0, 1),
    failures: { 'totals()': 'src/test/kotlin/com/acme/CartTest.kt:17' },
  },
  {
    fixture: 'catch2.xml',
    workspace: W,
    counts: c(3, 1, 2, 0, 0),
    failures: {
      'Factorials are computed': 'tests/main.cpp:72',
      'Vectors resize': 'tests/main.cpp:90',
    },
  },
  {
    fixture: 'googletest.xml',
    workspace: W,
    counts: c(3, 1, 1, 0, 1),
    failures: { Adds: 'tests/calc_test.cc:31' },
  },
  {
    fixture: 'karma-junit-reporter.xml',
    counts: c(3, 1, 1, 0, 1),
    failures: { 'Cart totals the lines': 'src/app/cart.spec.ts:14' },
  },
  {
    fixture: 'junit-testlogger.dotnet.xml',
    workspace: WIN,
    counts: c(3, 1, 1, 0, 1),
    failures: { Total_IsSum: 'tests/Acme.Tests/CartTests.cs:21' },
  },
  {
    fixture: 'rspec_junit_formatter.xml',
    counts: c(3, 1, 1, 0, 1),
    failures: { 'Post has a title': 'spec/models/post_spec.rb:8' },
  },
  {
    fixture: 'cargo-nextest.xml',
    counts: c(3, 2, 1, 0, 0),
    failures: { 'tests::totals': 'src/lib.rs:21' },
    flaky: { 'tests::cache': 'src/cache.rs:40' },
  },
  {
    fixture: 'ctest.disabled-and-both.xml',
    counts: c(4, 1, 0, 1, 2),
    failures: { unit_io: 'tests/io_test.c:20' },
  },
]

function read(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/junit/corpus/${name}`, import.meta.url))
}

describe('JUnit corpus: counts and annotation places across dialects', () => {
  it.each(CORPUS)('$fixture', (row) => {
    const result = parseJUnit(read(row.fixture), {
      ...(row.workspace === undefined ? {} : { workspace: row.workspace }),
      repoFiles: REPO_FILES,
    })
    if (!result.ok) throw new Error(result.error.message)
    const { tests, passed, failed, errored, skipped } = result.report
    expect({ tests, passed, failed, errored, skipped }).toEqual(row.counts)
    const byTitle = new Map(
      toAnnotations(result.report).map((a) => [a.title, `${a.path}:${a.start_line}`]),
    )
    const placed = (names: Record<string, string>, pick: (s: string) => boolean) =>
      Object.fromEntries(
        result.report.cases
          .filter((k) => pick(k.status) && (k.status !== 'passed' || k.flaky))
          .map((k) => {
            const title = k.suite === '' ? k.name : `${k.suite} › ${k.name}`
            return [k.name, byTitle.get(title) ?? '(no annotation)']
          })
          .filter(([name]) => name !== undefined && name in names),
      )
    expect(placed(row.failures, (s) => s === 'failed' || s === 'errored')).toEqual(row.failures)
    expect(placed(row.flaky ?? {}, (s) => s === 'passed')).toEqual(row.flaky ?? {})
  })

  it('keeps the messages of both the <failure> and the <error> of one case', () => {
    const result = parseJUnit(read('ctest.disabled-and-both.xml'))
    if (!result.ok) throw new Error(result.error.message)
    const io = result.report.cases.find((k) => k.name === 'unit_io')
    expect(io?.message).toBe('Timeout after 30 s\nFailed')
    expect(io?.details).toContain('expected 3, got 4')
    expect(io?.details).toContain('teardown hung')
  })
})
