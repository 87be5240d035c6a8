import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateReport } from '../../bench/junit/generate-report.js'
import { ReportPacker, unpackReport } from '../../runner/junit/pack-report.js'
import { parseJUnit } from '../../runner/junit/parse-junit.js'
import { parseJUnitInWorker } from '../../runner/junit/parse-junit-in-worker.js'
import { readStartTag } from '../../runner/junit/read-start-tag.js'
import { BARE_CASE, CASE, scanJUnit } from '../../runner/junit/scan-junit.js'
import type { TestReport } from '../../runner/junit/types.js'

/**
 * The fast paths for big reports: a `<testcase>` with only attributes is read from its bytes
 * (read-start-tag.ts) instead of by the XML parser, and the worker posts the report packed
 * (pack-report.ts). Each must give exactly what the plain path gives.
 */
const W = '/home/runner/work/app/app'
const FIXTURES = path.join(import.meta.dirname, '../fixtures/junit')

function report(xml: string | Buffer, workspace?: string): TestReport {
  const result = parseJUnit(xml, workspace === undefined ? {} : { workspace })
  if (!result.ok) throw new Error(result.error.message)
  return result.report
}

/** A report with one case whose start tag is `tag` (without `<testcase` and the closing). */
function withCase(attributes: string, body: string, root = 'testsuites'): string {
  const end = body === '/>' ? '/>' : `>${body}</testcase>`
  return `<${root} name="r"><testsuite name="s"><testcase${attributes}${end}</testsuite></${root}>`
}

/** Start tags that are unusual but valid XML (or that the parser reads leniently). */
const START_TAGS = [
  ` name="a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;" classname="k" time="0.5"`,
  ` name="&#x41;&#66;&#x1F600; &#0; &#xD800; &foo; &amp" classname="K"`,
  ` name='single &quot;quoted&quot;' classname='c.d' time='1,5'`,
  ` name = "spaced"\tclassname\n=\n'x'   time =  "2"  `,
  ` name="a > b" classname="x>y" file="${W}/src/a>b.ts" line="7"`,
  ` name="  padded  " classname=" c " time=" 0.25 "`,
  ` name="naïve ✓ 😀" classname="ünï.cödé"`,
  ` name="skipped by status" status="disabled"`,
  ` name="path class" classname="tests/test_views.py"`,
  ` name="mod class" classname="tests.test_blog.BlogTest" line="0"`,
  ` name="line" file="src/x.ts" line="12" extra:attr="1" data-x="y"`,
  ` name="twice" name="second" classname="dup"`,
  ` name="tabs\tand\nnewlines" classname="k"`,
  ` classname="no name"`,
  '',
]

describe('a <testcase> with attributes only', () => {
  it.each(START_TAGS)('reads %j exactly as the XML parser does', (attributes) => {
    for (const root of ['testsuites', 'testsuite']) {
      // A comment inside the case makes it go through the parser.
      const parsed = report(withCase(attributes, '<!-- via the parser -->', root), W)
      for (const body of ['/>', '', ' \n\t ', 'some text']) {
        const xml = withCase(attributes, body, root)
        const fast = report(xml, W)
        expect(fast).toStrictEqual(parsed)
        expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed))
      }
    }
  })

  it('is read from its bytes, not by the parser, when nothing but text is inside', () => {
    const xml = Buffer.from(
      '<testsuites><testsuite name="s">' +
        '<testcase name="a"/><testcase name="b"> </testcase>' +
        '<testcase name="c"><!-- x --></testcase><testcase name="d"><failure/></testcase>' +
        '<testcase name="e"><![CDATA[x]]></testcase>' +
        '</testsuite></testsuites>',
    )
    const { events } = scanJUnit(xml)
    const cases: Array<[number, string]> = []
    for (let k = 0; k < events.length; k += 3) {
      const kind = events[k] as number
      if (kind !== CASE && kind !== BARE_CASE) continue
      cases.push([kind, xml.toString('utf8', events[k + 1], events[k + 2])])
    }
    expect(cases).toEqual([
      [BARE_CASE, '<testcase name="a"/>'],
      [BARE_CASE, '<testcase name="b">'],
      [CASE, '<testcase name="c"><!-- x --></testcase>'],
      [CASE, '<testcase name="d"><failure/></testcase>'],
      [CASE, '<testcase name="e"><![CDATA[x]]></testcase>'],
    ])
  })

  it.each(START_TAGS)('is read by hand, without falling back to the parser: %j', (attributes) => {
    const tag = Buffer.from(`<testcase${attributes}>`)
    expect(readStartTag(tag, 0, tag.length)).toBeDefined()
  })

  it('leaves to the parser what it would not read the same way', () => {
    const cr = report(withCase(' name="carriage\r\nreturn" classname="k"', '/>'))
    expect(cr.cases[0]?.name).toBe('carriage\nreturn')
    for (const attributes of [' name="carriage\r\nreturn"', ' name=unquoted', ' a="1"b="2"']) {
      const tag = Buffer.from(`<testcase${attributes}/>`)
      expect(readStartTag(tag, 0, tag.length)).toBeUndefined()
    }
  })

  it('keeps cases in document order when bare and parsed cases alternate', () => {
    const r = report(generateReport({ cases: 3000, workspace: W }).xml, W)
    const order = r.cases.map((c) => Number(/^case (\d+) /.exec(c.name)?.[1]))
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(new Set(order).size).toBe(3000)
  })
})

describe('the report the worker posts back', () => {
  const fixtures = [
    ...readdirSync(path.join(FIXTURES, 'corpus'))
      .filter((name) => name.endsWith('.xml'))
      .map((name) => path.join(FIXTURES, 'corpus', name)),
    ...readdirSync(FIXTURES)
      .filter((name) => name.endsWith('.xml'))
      .map((name) => path.join(FIXTURES, name)),
  ]

  it('unpacks to what was packed, key order included, for every fixture', async () => {
    const opts = { workspace: W, repoFiles: ['tests/PostTest.php', 'src/cart.test.ts'] }
    let reports = 0
    for (const file of fixtures) {
      const direct = parseJUnit(readFileSync(file), opts)
      if (!direct.ok) continue
      reports += 1
      // Through a structured clone, as a worker's message arrives; text in one buffer or many.
      for (const packer of [new ReportPacker(), new ReportPacker(64)]) {
        const { packed, transfer } = packer.finish(structuredClone(direct.report))
        const unpacked = await unpackReport(structuredClone(packed, { transfer }))
        expect(JSON.stringify(unpacked), path.basename(file)).toBe(JSON.stringify(direct.report))
      }
    }
    expect(reports).toBeGreaterThan(20)
  })

  it('comes from parseJUnitInWorker as parseJUnit gives it, for a big generated report', async () => {
    const xml = generateReport({ cases: 30_000, workspace: W }).xml
    const direct = parseJUnit(xml, { workspace: W })
    const inWorker = await parseJUnitInWorker(Buffer.from(xml), { workspace: W })
    expect(inWorker.ok).toBe(true)
    expect(JSON.stringify(inWorker)).toBe(JSON.stringify(direct))
  })

  it('comes from parseJUnitInWorker as parseJUnit gives it when failures are past the details budget', async () => {
    // Failures with a type and a message but no details travel as rows, not as JSON.
    const xml = generateReport({ cases: 5_000, workspace: W }).xml
    const opts = { workspace: W, maxTotalDetailsChars: 3_000, maxLocatedCases: 10 }
    const direct = parseJUnit(xml, opts)
    if (!direct.ok) throw new Error(direct.error.message)
    const bare = direct.report.cases.filter((c) => c.status === 'failed' && !c.details)
    expect(bare.length).toBeGreaterThan(200)
    expect(bare[0]).toMatchObject({ type: 'AssertionError', message: expect.any(String) })
    const inWorker = await parseJUnitInWorker(Buffer.from(xml), opts)
    expect(JSON.stringify(inWorker)).toBe(JSON.stringify(direct))
  })

  it('comes from parseJUnitInWorker with the reason when the report is unusable', async () => {
    const xml = readFileSync(path.join(FIXTURES, 'edge.truncated.xml'))
    expect(await parseJUnitInWorker(xml)).toEqual(parseJUnit(xml))
    expect((await parseJUnitInWorker(xml)).ok).toBe(false)
  })
})

describe('parseJUnit handing cases to a sink', () => {
  const sunk = (xml: string): { handed: string[][]; report: TestReport } => {
    const handed: string[][] = []
    const result = parseJUnit(xml, {}, (cases) => handed.push(cases.map((c) => c.name)))
    if (!result.ok) throw new Error(result.error.message)
    return { handed, report: result.report }
  }

  it('hands each top-level suite its cases when it closes, in order, and counts them all', () => {
    const xml =
      '<testsuites><testsuite name="a"><testcase name="1"/><testsuite name="b">' +
      '<testcase name="2"><failure/></testcase></testsuite><testcase name="3"/></testsuite>' +
      '<testsuite name="c"><testcase name="4"><skipped/></testcase></testsuite></testsuites>'
    const { handed, report } = sunk(xml)
    expect(handed).toEqual([['1', '3', '2'], ['4']])
    expect(report.cases).toEqual([])
    const whole = parseJUnit(xml)
    if (!whole.ok) throw new Error(whole.error.message)
    expect({ ...report, cases: whole.report.cases }).toStrictEqual(whole.report)
  })

  it('hands nothing before the end when cases sit straight under the root', () => {
    const xml =
      '<testsuites><testsuite name="a"><testcase name="1"/></testsuite>' +
      '<testcase name="root"/></testsuites>'
    const { handed, report } = sunk(xml)
    expect(handed).toEqual([])
    expect(report.cases.map((c) => c.name)).toEqual(['root', '1'])
  })
})
