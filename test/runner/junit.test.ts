import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { generateReport } from '../../bench/junit/generate-report.js'
import { type JUnitResult, parseJUnit, type TestReport } from '../../runner/junit/parse-junit.js'

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/junit')
/** Where each tool ran when its fixture was produced (test/fixtures/junit/README.md). */
const WORKSPACE = {
  phpunit: '/tmp/devsys-fixtures/php',
  pytest: '/tmp/devsys-fixtures/pytest',
  jest: '/tmp/devsys-fixtures/jest',
}

function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name))
}

function report(result: JUnitResult): TestReport {
  if (!result.ok)
    throw new Error(`expected a report, got ${result.error.code}: ${result.error.message}`)
  return result.report
}

function counts(r: TestReport) {
  const { tests, passed, failed, errored, skipped } = r
  return { tests, passed, failed, errored, skipped }
}

function byName(r: TestReport, name: string) {
  const found = r.cases.find((c) => c.name === name)
  if (!found) throw new Error(`no case named ${name}`)
  return found
}

describe('parseJUnit on PHPUnit 9.6 (phpunit --log-junit)', () => {
  const r = report(parseJUnit(fixture('phpunit.mixed.xml'), { workspace: WORKSPACE.phpunit }))

  it('counts every case by its outcome; incomplete counts as skipped', () => {
    expect(counts(r)).toEqual({ tests: 10, passed: 5, failed: 2, errored: 1, skipped: 2 })
    expect(r.timeMs).toBe(13.054)
    expect(byName(r, 'testIncomplete').status).toBe('skipped')
    expect(byName(r, 'testSkipped').status).toBe('skipped')
  })

  it('names each case by its nested suite path, data provider suites included', () => {
    expect(byName(r, 'testAddPasses').suite).toBe('unit › App\\Tests\\CalculatorTest')
    expect(byName(r, 'testAddWithData with data set "wrong"').suite).toBe(
      'unit › App\\Tests\\CalculatorTest › App\\Tests\\CalculatorTest::testAddWithData',
    )
    expect(r.suites.map((s) => [s.name, s.tests, s.failed, s.file])).toEqual([
      ['', 10, 2, undefined],
      ['unit', 10, 2, undefined],
      ['unit › App\\Tests\\CalculatorTest', 9, 2, 'tests/CalculatorTest.php'],
      [
        'unit › App\\Tests\\CalculatorTest › App\\Tests\\CalculatorTest::testAddWithData',
        3,
        1,
        'tests/CalculatorTest.php',
      ],
      ['unit › App\\Tests\\GreeterTest', 1, 0, 'tests/GreeterTest.php'],
    ])
  })

  it('takes the failing line from the stack, the message without the Class::method line', () => {
    const failed = byName(r, 'testAddFails')
    expect(failed).toMatchObject({
      status: 'failed',
      classname: 'App.Tests.CalculatorTest',
      type: 'PHPUnit\\Framework\\ExpectationFailedException',
      message: 'two & two make "four" <not five>\nFailed asserting that 4 is identical to 5.',
      file: 'tests/CalculatorTest.php',
      line: 20,
    })
    expect(failed.details).toContain('/tmp/devsys-fixtures/php/tests/CalculatorTest.php:20')
    // The error is thrown in src/, but the annotation belongs on the test's own line.
    expect(byName(r, 'testDivideByZeroErrors')).toMatchObject({
      status: 'errored',
      type: 'DivisionByZeroError',
      message: 'DivisionByZeroError: Division by zero',
      file: 'tests/CalculatorTest.php',
      line: 25,
    })
    expect(byName(r, 'testAddPasses')).toMatchObject({ file: 'tests/CalculatorTest.php', line: 13 })
  })

  it('keeps system-out', () => {
    expect(byName(r, 'testPrintsOutput').systemOut).toBe('hello from stdout')
  })
})

describe('parseJUnit on pytest 9 (pytest --junitxml)', () => {
  it('xunit2: failures, setup errors, skip and xfail; file and line from the failure text', () => {
    const r = report(parseJUnit(fixture('pytest.xunit2.xml'), { workspace: WORKSPACE.pytest }))
    expect(counts(r)).toEqual({ tests: 9, passed: 3, failed: 3, errored: 1, skipped: 2 })
    expect(r.suites.map((s) => s.name)).toEqual(['pytest'])
    expect(byName(r, 'test_slugify_fails')).toMatchObject({
      suite: 'pytest',
      classname: 'tests.test_blog',
      status: 'failed',
      message:
        "AssertionError: assert 'hello-&-<world>' == 'hello-world'\n  \n  - hello-world\n  + hello-&-<world>\n  ?       +++     +",
      file: 'tests/test_blog.py',
      line: 15,
    })
    expect(byName(r, 'test_setup_error')).toMatchObject({
      status: 'errored',
      message: 'failed on setup with "RuntimeError: fixture setup failed"',
      file: 'tests/test_blog.py',
      line: 34,
    })
    expect(byName(r, 'test_skipped')).toMatchObject({
      status: 'skipped',
      type: 'pytest.skip',
      message: 'needs the database',
      file: 'tests/test_blog.py',
      line: 22,
    })
    expect(byName(r, 'test_expected_failure')).toMatchObject({
      status: 'skipped',
      type: 'pytest.xfail',
    })
    expect(byName(r, 'test_param[C-x]')).toMatchObject({
      classname: 'tests.test_blog.TestPosts',
      line: 49,
    })
    const output = byName(r, 'test_output')
    expect(output.systemOut).toContain('to stdout')
    expect(output.systemErr).toContain('to stderr')
  })

  it('xunit1: file and line attributes, whose 0-based line is made 1-based', () => {
    const r = report(parseJUnit(fixture('pytest.xunit1.xml')))
    expect(counts(r)).toEqual({ tests: 9, passed: 3, failed: 3, errored: 1, skipped: 2 })
    // `def test_slugify_passes():` is line 10 of tests/test_blog.py; pytest writes line="9".
    expect(byName(r, 'test_slugify_passes')).toMatchObject({ file: 'tests/test_blog.py', line: 10 })
    expect(byName(r, 'test_slugify_fails')).toMatchObject({ file: 'tests/test_blog.py', line: 15 })
  })
})

describe('parseJUnit on Vitest 4.1 (--reporter=junit)', () => {
  const r = report(parseJUnit(fixture('vitest.nested.xml')))

  it('reads one suite per file with describe paths in the case names', () => {
    expect(counts(r)).toEqual({ tests: 7, passed: 3, failed: 2, errored: 0, skipped: 2 })
    expect(r.suites.map((s) => [s.name, s.tests])).toEqual([
      ['test/math.test.ts', 6],
      ['test/other.test.ts', 1],
    ])
    expect(r.cases.map((c) => c.name)).toContain('math > parseAmount > throws on text & <tags>')
  })

  it('places failures on the test file line the stack points at', () => {
    expect(byName(r, 'math > add > fails an assertion')).toMatchObject({
      suite: 'test/math.test.ts',
      status: 'failed',
      type: 'AssertionError',
      message: 'expected 4 to be 5 // Object.is equality',
      file: 'test/math.test.ts',
      line: 11,
    })
    expect(byName(r, 'math > parseAmount > throws on text & <tags>')).toMatchObject({
      type: 'TypeError',
      line: 17,
    })
    expect(byName(r, 'math > parseAmount > handles currencies').status).toBe('skipped')
  })

  it('trims captured output', () => {
    const logs = byName(r, 'logs to stdout and stderr')
    expect([logs.systemOut, logs.systemErr]).toEqual(['out line', 'err line'])
  })
})

describe('parseJUnit on Jest 29 with jest-junit 16', () => {
  it('with file attributes: the line in the test file, not in node_modules or the source', () => {
    const r = report(parseJUnit(fixture('jest.file-attribute.xml'), { workspace: WORKSPACE.jest }))
    expect(counts(r)).toEqual({ tests: 6, passed: 3, failed: 2, errored: 0, skipped: 1 })
    expect(byName(r, 'fails an assertion')).toMatchObject({
      suite: 'cart',
      classname: 'cart total',
      message: 'Error: expect(received).toBe(expected) // Object.is equality',
      file: '__tests__/cart.test.js',
      line: 10,
    })
    expect(byName(r, 'throws & <breaks>')).toMatchObject({
      message: "TypeError: Cannot read properties of null (reading 'reduce')",
      file: '__tests__/cart.test.js',
      line: 19,
    })
  })

  it('with defaults (no file attribute): the first location in the stack', () => {
    const r = report(parseJUnit(fixture('jest.defaults.xml'), { workspace: WORKSPACE.jest }))
    expect(counts(r)).toEqual({ tests: 6, passed: 3, failed: 2, errored: 0, skipped: 1 })
    expect(byName(r, 'cart total fails an assertion')).toMatchObject({
      file: '__tests__/cart.test.js',
      line: 10,
    })
    expect(byName(r, 'cart total sums prices').file).toBeUndefined()
  })
})

describe('parseJUnit on a Maven Surefire 3 report (hand-written to the XSD)', () => {
  const r = report(parseJUnit(fixture('surefire.reruns.xml')))

  it('reads a bare <testsuite> root, errors, skips and a thousands-separated time', () => {
    expect(counts(r)).toEqual({ tests: 7, passed: 3, failed: 2, errored: 1, skipped: 1 })
    expect(r.timeMs).toBe(1_234_567)
    expect(byName(r, 'loadsFromDatabase')).toMatchObject({
      status: 'errored',
      timeMs: 500,
      message: 'Connection refused',
      systemErr: 'WARN pool exhausted & retrying',
    })
    expect(byName(r, 'loadsFromDatabase').details).toContain(
      'Connection refused\n\tat com.example.blog.PostRepository.connect(PostRepository.java:17)',
    )
    expect(byName(r, 'rejectsEmptyTitle').systemOut).toBe('validating title ""')
    // Java frames name no directory, so no file is guessed from them.
    expect(byName(r, 'rejectsEmptyTitle').file).toBeUndefined()
  })

  it('reports flaky tests as passed with a note, and failed reruns as failed', () => {
    expect(byName(r, 'paginates')).toMatchObject({
      status: 'passed',
      flaky: true,
      reruns: 1,
      message: 'expected: <10> but was: <9>',
    })
    expect(byName(r, 'paginates').details).toContain('PostServiceTest.java:71')
    expect(byName(r, 'rendersMarkdown')).toMatchObject({ status: 'passed', flaky: true })
    expect(byName(r, 'publishesFeed')).toMatchObject({ status: 'failed', reruns: 2 })
    expect(byName(r, 'publishesFeed').flaky).toBeUndefined()
  })
})

describe('parseJUnit on edge cases', () => {
  it('counts cases, not the attributes that claim otherwise; BOM, CDATA, entities', () => {
    const r = report(parseJUnit(fixture('edge.bare-suite.xml')))
    expect(counts(r)).toEqual({ tests: 2, passed: 1, failed: 1, errored: 0, skipped: 0 })
    expect(r.suites.map((s) => [s.name, s.tests])).toEqual([
      ['lying counts', 2],
      ['lying counts › declares tests but has no cases', 0],
    ])
    expect(r.timeMs).toBe(750)
    expect(r.cases[0]?.name).toBe('first ✓ <ok>')
    expect(byName(r, 'second')).toMatchObject({
      message: 'expected <a> & got <b> and &more',
      details: 'expected <a> & got <b> and &more\n    at check (src/lib/check.js:7:3)',
      file: 'src/lib/check.js',
      line: 7,
    })
  })

  it('reads <testsuites> without suites as a report of 0 tests', () => {
    expect(counts(report(parseJUnit(fixture('edge.no-suites.xml'))))).toEqual({
      tests: 0,
      passed: 0,
      failed: 0,
      errored: 0,
      skipped: 0,
    })
  })

  it.each([
    ['edge.empty-file.xml', 'empty', /is empty/],
    [
      'edge.truncated.xml',
      'not-xml',
      /cut off: it ends before <failure>, <testcase>, <testsuite>, <testsuites> are closed/,
    ],
    ['edge.html-error-page.xml', 'not-junit', /HTML page \("502 Bad Gateway"\)/],
    ['edge.not-junit-coverage.xml', 'not-junit', /root element is <coverage>/],
  ])('refuses %s as %s', (name, code, message) => {
    const result = parseJUnit(fixture(name))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error.code).toBe(code)
    expect(result.error.message).toMatch(message)
  })

  it.each([
    ['whitespace only', ' \n\t ', 'empty'],
    ['a BOM only', '\uFEFF', 'empty'],
    ['plain text', 'Segmentation fault (core dumped)', 'not-xml'],
    ['a mismatched end tag', '<testsuites>\n<testsuite>\n</testsuites>', 'not-xml'],
    ['an unterminated attribute', '<testsuite name="x>', 'not-xml'],
    ['a cut-off comment', '<testsuite><!-- killed', 'not-xml'],
  ])('refuses %s', (_what, xml, code) => {
    const result = parseJUnit(xml)
    expect(result).toMatchObject({ ok: false, error: { code } })
  })

  it('is not fooled by markup inside attribute values, comments, CDATA and instructions', () => {
    const xml = [
      '<?xml version="1.0"?><?xml-stylesheet href="a.xsl"?>',
      "<testsuites><!-- <testsuite name='commented out'> -->",
      `<testsuite name='a > b'><testcase name="x/>y" classname='c"d'/>`,
      '<testcase name="z"><failure message="</testsuite>"><![CDATA[</testcase> <oops>]]></failure></testcase>',
      '</testsuite></testsuites>',
    ].join('\n')
    const r = report(parseJUnit(xml))
    expect(r.suites.map((s) => s.name)).toEqual(['a > b'])
    expect(r.cases.map((c) => [c.name, c.status, c.classname])).toEqual([
      ['x/>y', 'passed', 'c"d'],
      ['z', 'failed', undefined],
    ])
    expect(r.cases[1]).toMatchObject({ message: '</testsuite>', details: '</testcase> <oops>' })
  })

  it('names the line of a mismatched end tag', () => {
    const result = parseJUnit('<testsuites>\n<testsuite>\n</testsuites>')
    expect(result.ok ? '' : result.error.message).toMatch(
      'line 3 has </testsuites> where </testsuite> was expected',
    )
  })

  it('refuses a report over maxBytes before reading it', () => {
    const result = parseJUnit(fixture('vitest.nested.xml'), { maxBytes: 1024 })
    expect(result).toMatchObject({ ok: false, error: { code: 'too-large' } })
  })

  it('decodes UTF-16 and Latin-1 reports', () => {
    const xml = '<testsuite name="é"><testcase name="naïve"/></testsuite>'
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')])
    expect(report(parseJUnit(utf16)).cases[0]?.name).toBe('naïve')
    const latin1 = Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?>${xml}`, 'latin1')
    expect(report(parseJUnit(latin1)).suites[0]?.name).toBe('é')
  })

  it('does not expand DOCTYPE entities', () => {
    const xml =
      '<!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' +
      '<testsuite><testcase name="&b;"/></testsuite>'
    expect(report(parseJUnit(xml)).cases[0]?.name).toBe('&b;')
  })

  it('caps details and captured output', () => {
    const big = 'x'.repeat(100_000)
    const xml = `<testsuite><testcase name="t"><failure>${big}</failure><system-out>${big}</system-out><system-err>${big}</system-err></testcase></testsuite>`
    const c = report(parseJUnit(xml, { maxOutputChars: 1000 })).cases[0]
    expect(c?.details?.length).toBe(65_536)
    expect(c?.details).toMatch(/… \(cut: \d+ more characters\)$/)
    expect(c?.systemOut?.length).toBe(1000)
    expect(c?.systemErr?.length).toBe(1000)
  })
})

describe('parseJUnit on a report of many failures', () => {
  const failing = (n: number, line: number) =>
    `<testcase name="t${n}" line="${line}"><failure message="m${n}">Error: boom ${n}\n    at /ws/tests/a.test.ts:${line + 1}:3</failure></testcase>`
  const skip =
    '<testcase name="s" line="2"><skipped>tests/a.test.ts:3: not here</skipped></testcase>'
  const xml = `<testsuite file="/ws/tests/a.test.ts">${skip}${skip}${failing(1, 10)}<testcase name="ok" line="20"/>${failing(2, 30)}${failing(3, 40)}</testsuite>`

  it('keeps details only while the total budget lasts, then messages alone', () => {
    // The skips' 27 characters each, then 44 per failure: the second failure spends the rest of
    // the budget, the third finds none.
    const r = report(parseJUnit(xml, { workspace: '/ws', maxTotalDetailsChars: 100 }))
    const [, , one, , two, three] = r.cases
    expect(one?.details).toBe('Error: boom 1\n    at /ws/tests/a.test.ts:11:3')
    expect(two?.details).toBe('Error: boom 2\n    at /ws/tests/a.test.ts:31:3')
    expect(three?.details).toBeUndefined()
    expect(three?.line).toBe(41)
    expect(three?.message).toBe('m3')
    expect(counts(r)).toEqual({ tests: 6, passed: 1, failed: 3, errored: 0, skipped: 2 })
  })

  it('places the first failures (and skips, apart) from their text, later ones by their attributes', () => {
    const r = report(parseJUnit(xml, { workspace: '/ws', maxLocatedCases: 2 }))
    expect(r.cases.map((c) => `${c.name} ${c.file}:${c.line}`)).toEqual([
      's tests/a.test.ts:3',
      's tests/a.test.ts:3',
      't1 tests/a.test.ts:11',
      'ok tests/a.test.ts:20',
      't2 tests/a.test.ts:31',
      't3 tests/a.test.ts:40',
    ])
    expect(r.cases[5]?.details).toBe('Error: boom 3\n    at /ws/tests/a.test.ts:41:3')
  })
})

describe('parseJUnit on a generated report of 100,000 cases', () => {
  it('finds every case with its outcome (timing is measured by npm run bench:junit)', () => {
    const generated = generateReport({ cases: 100_000 })
    const r = report(parseJUnit(generated.xml, { workspace: '/home/runner/work/app/app' }))
    expect(counts(r)).toEqual(generated.expected)
    expect(r.cases).toHaveLength(100_000)
    expect(r.suites).toHaveLength(6000)
    const failed = r.cases.find((c) => c.status === 'failed')
    expect(failed).toMatchObject({ file: 'tests/unit/module0.test.ts', line: 12 })
  })
})
