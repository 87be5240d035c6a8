/**
 * Big JUnit reports for the parser's tests and benchmark, generated rather than committed: one
 * `<testsuite>` per test file (50 cases) with two nested describe suites, and a realistic mix of
 * outcomes by case index: 90% passed, 5% failed with about 2 KB of stack text, 2% errored, 3%
 * skipped. Names, messages and stacks carry entities, as real reports do.
 */

export interface GeneratedReport {
  xml: string
  expected: { tests: number; passed: number; failed: number; errored: number; skipped: number }
}

export interface GenerateOptions {
  cases: number
  /** Make every case a failure, with a one-frame stack (for summary limits). */
  allFailed?: boolean
  /** Absolute prefix of the file paths, as a CI workspace would have. */
  workspace?: string
}

const CASES_PER_FILE = 50

/** The outcome of the case at this index in the realistic mix. */
export function outcomeOf(index: number): 'passed' | 'failed' | 'errored' | 'skipped' {
  const slot = index % 100
  if (slot < 5) return 'failed'
  if (slot < 7) return 'errored'
  if (slot < 10) return 'skipped'
  return 'passed'
}

function stack(file: string, line: number): string {
  const frames: string[] = [
    `AssertionError: expected &lt;response&gt; to have status 200 &amp; body "ok"`,
    `    at Object.&lt;anonymous&gt; (${file}:${line}:13)`,
  ]
  for (let i = 0; frames.join('\n').length < 2048; i++) {
    frames.push(
      `    at runTest (/home/runner/work/app/app/node_modules/runner/lib/run.js:${100 + i}:7)`,
    )
  }
  return frames.join('\n')
}

/** A JUnit report with `cases` test cases and the counts a parser must find in it. */
export function generateReport(opts: GenerateOptions): GeneratedReport {
  const workspace = opts.workspace ?? '/home/runner/work/app/app'
  const parts: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="generated">\n',
  ]
  const expected = { tests: 0, passed: 0, failed: 0, errored: 0, skipped: 0 }
  const files = Math.ceil(opts.cases / CASES_PER_FILE)
  let index = 0
  for (let f = 0; f < files; f++) {
    const file = `${workspace}/tests/unit/module${f}.test.ts`
    const inFile = Math.min(CASES_PER_FILE, opts.cases - index)
    parts.push(
      `  <testsuite name="tests/unit/module${f}.test.ts" file="${file}" tests="${inFile}">\n`,
    )
    for (let d = 0; d < 2; d++) {
      const inDescribe = d === 0 ? Math.ceil(inFile / 2) : Math.floor(inFile / 2)
      parts.push(`    <testsuite name="module ${f} &gt; describe ${d}" tests="${inDescribe}">\n`)
      for (let i = 0; i < inDescribe; i++, index++) {
        const outcome = opts.allFailed ? 'failed' : outcomeOf(index)
        expected.tests += 1
        expected[outcome] += 1
        const line = 10 + i * 4
        parts.push(
          `      <testcase name="case ${index} handles &quot;input&quot; &amp; output" ` +
            `classname="module${f}.describe${d}" time="0.00${index % 10}${index % 7}" ` +
            `file="${file}" line="${line}">`,
        )
        if (outcome === 'failed') {
          parts.push(
            `<failure message="expected &lt;response&gt; to have status 200" type="AssertionError">` +
              `${opts.allFailed ? `at ${file}:${line + 2}:13` : stack(file, line + 2)}</failure>`,
          )
        } else if (outcome === 'errored') {
          parts.push(
            `<error message="connect ECONNREFUSED 127.0.0.1:5432" type="Error"><![CDATA[` +
              `Error: connect ECONNREFUSED 127.0.0.1:5432\n    at ${file}:${line + 1}:5]]></error>`,
          )
        } else if (outcome === 'skipped') {
          parts.push('<skipped message="not on this platform"/>')
        } else if (index % 100 === 50) {
          parts.push('<system-out>connected to the test database\n</system-out>')
        }
        parts.push('</testcase>\n')
      }
      parts.push('    </testsuite>\n')
    }
    parts.push('  </testsuite>\n')
  }
  parts.push('</testsuites>\n')
  return { xml: parts.join(''), expected }
}
