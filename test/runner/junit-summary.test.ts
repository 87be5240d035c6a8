import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { generateReport } from '../../bench/junit/generate-report.js'
import { parseJUnit, type TestCase, type TestReport } from '../../runner/junit/parse-junit.js'
import {
  capBytes,
  failuresFirst,
  renderSummaryMarkdown,
  toAnnotations,
} from '../../runner/junit/summarize.js'

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/junit')

function parsed(name: string, workspace?: string): TestReport {
  const xml = readFileSync(path.join(FIXTURES, name))
  const result = parseJUnit(xml, workspace === undefined ? {} : { workspace })
  if (!result.ok) throw new Error(result.error.message)
  return result.report
}

function reportOf(cases: TestCase[]): TestReport {
  const report: TestReport = {
    tests: cases.length,
    passed: 0,
    failed: 0,
    errored: 0,
    skipped: 0,
    timeMs: 1234,
    suites: [],
    cases,
  }
  for (const c of cases) report[c.status] += 1
  return report
}

describe('failuresFirst', () => {
  it('lists failures and errors in report order, then skips, and no passes', () => {
    const report = parsed('phpunit.mixed.xml')
    expect(failuresFirst(report).map((c) => [c.name, c.status])).toEqual([
      ['testAddFails', 'failed'],
      ['testDivideByZeroErrors', 'errored'],
      ['testAddWithData with data set "wrong"', 'failed'],
      ['testSkipped', 'skipped'],
      ['testIncomplete', 'skipped'],
    ])
  })
})

describe('toAnnotations', () => {
  it('annotates failures and errors on their repository-relative file and line', () => {
    const annotations = toAnnotations(parsed('phpunit.mixed.xml', '/tmp/devsys-fixtures/php'))
    expect(annotations.map((a) => [a.path, a.start_line, a.end_line, a.annotation_level])).toEqual([
      ['tests/CalculatorTest.php', 20, 20, 'failure'],
      ['tests/CalculatorTest.php', 25, 25, 'failure'],
      ['tests/CalculatorTest.php', 47, 47, 'failure'],
    ])
    expect(annotations[0]).toMatchObject({
      title: 'unit › App\\Tests\\CalculatorTest › testAddFails',
      message: 'two & two make "four" <not five>\nFailed asserting that 4 is identical to 5.',
    })
    expect(annotations[0]?.raw_details).toContain('CalculatorTest.php:20')
  })

  it('leaves out cases without a file, and absolute paths outside the workspace', () => {
    // Without the workspace, PHPUnit's paths stay absolute: GitHub could not place them.
    expect(toAnnotations(parsed('phpunit.mixed.xml'))).toEqual([])
    // Surefire's Java frames name no directory: no file, no annotation.
    expect(toAnnotations(parsed('surefire.reruns.xml'))).toEqual([])
  })

  it('adds flaky passes as warnings, skips as notices when asked, and stops at max', () => {
    const report = reportOf([
      { suite: 's', name: 'broken', status: 'failed', timeMs: 0, file: 'a.ts', line: 3 },
      { suite: 's', name: 'flaky', status: 'passed', timeMs: 0, file: 'a.ts', flaky: true },
      { suite: 's', name: 'later', status: 'skipped', timeMs: 0, file: 'b.ts', line: 9 },
      { suite: '', name: 'up', status: 'errored', timeMs: 0, file: '../outside.ts', line: 1 },
    ])
    expect(toAnnotations(report).map((a) => [a.title, a.annotation_level, a.start_line])).toEqual([
      ['s › broken', 'failure', 3],
      ['s › flaky', 'warning', 1],
    ])
    expect(toAnnotations(report, { skipped: true }).map((a) => a.annotation_level)).toEqual([
      'failure',
      'warning',
      'notice',
    ])
    expect(toAnnotations(report, { max: 1 })).toHaveLength(1)
  })

  it("caps message and raw_details to GitHub's 64 KB, counted in bytes", () => {
    const huge = 'é'.repeat(60_000) // 120,000 bytes
    const report = reportOf([
      {
        suite: '',
        name: 't',
        status: 'failed',
        timeMs: 0,
        file: 'a.ts',
        line: 1,
        message: huge,
        details: huge,
      },
    ])
    const [annotation] = toAnnotations(report)
    expect(Buffer.byteLength(annotation?.message ?? '', 'utf8')).toBeLessThanOrEqual(65_535)
    expect(Buffer.byteLength(annotation?.raw_details ?? '', 'utf8')).toBeLessThanOrEqual(65_535)
    expect(annotation?.message).toMatch(/… \(cut\)$/)
  })

  it('capBytes never splits a surrogate pair', () => {
    const capped = capBytes('😀'.repeat(40_000), 1000)
    expect(Buffer.byteLength(capped, 'utf8')).toBeLessThanOrEqual(1000)
    expect(capped).not.toMatch(/\uFFFD/)
    expect(capped.replace(/\n… \(cut\)$/, '')).toMatch(/^(😀)+$/)
  })
})

describe('renderSummaryMarkdown', () => {
  it('shows the counts, then each failure with its details, then the skipped cases', () => {
    const summary = renderSummaryMarkdown(parsed('vitest.nested.xml'))
    expect(summary).toContain('| 3 | 2 | 0 | 2 | 14 ms |')
    expect(summary).toContain('### Failures and errors (2)')
    expect(summary).toContain(
      '#### ❌ test/math.test.ts › math &gt; add &gt; fails an assertion (failed) — `test/math.test.ts:11`',
    )
    expect(summary).toContain('> expected 4 to be 5 // Object.is equality')
    expect(summary).toContain('<details><summary>Details</summary>')
    expect(summary).toContain(
      '### Skipped (2)\n\n- test/math.test.ts › math &gt; parseAmount &gt; is skipped',
    )
    expect(summary.indexOf('### Failures')).toBeLessThan(summary.indexOf('### Skipped'))
    expect(summary).not.toContain('more not shown')
  })

  it('lists flaky tests', () => {
    const summary = renderSummaryMarkdown(parsed('surefire.reruns.xml'))
    expect(summary).toContain('### Flaky: passed on a rerun (2)')
    expect(summary).toContain(
      '- com.example.blog.PostServiceTest › paginates: expected: &lt;10&gt;',
    )
  })

  it('fences details that contain backticks so they cannot close the block', () => {
    const report = reportOf([
      { suite: '', name: 't', status: 'failed', timeMs: 0, details: 'a\n````\n<details>' },
    ])
    expect(renderSummaryMarkdown(report)).toContain('`````\na\n````\n<details>\n`````')
  })

  it('keeps 100,000 failures within 65,535 characters, and says how many were left out', () => {
    const generated = generateReport({ cases: 100_000, allFailed: true })
    const result = parseJUnit(generated.xml)
    if (!result.ok) throw new Error(result.error.message)
    const summary = renderSummaryMarkdown(result.report)
    expect(summary.length).toBeLessThanOrEqual(65_535)
    expect(Buffer.byteLength(summary, 'utf8')).toBeLessThanOrEqual(65_535)
    const shown = summary.match(/^#### ❌ /gm)?.length ?? 0
    expect(shown).toBeGreaterThan(5)
    expect(summary).toContain(`… ${100_000 - shown} more not shown`)
  })

  it('honours a small limit', () => {
    const summary = renderSummaryMarkdown(parsed('phpunit.mixed.xml'), { limit: 400 })
    expect(summary.length).toBeLessThanOrEqual(400)
    expect(summary).toMatch(/… \d+ more not shown/)
  })
})
