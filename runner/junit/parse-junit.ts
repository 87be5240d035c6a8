import { XMLParser } from 'fast-xml-parser'
import { checkTags, type TagCheck } from './check-tags.js'
import { relativePath, secondsToMs, workspaceRoot } from './junit-text.js'
import { SOURCE_PATH } from './locate-case.js'
import { mergeReruns } from './merge-reruns.js'
import { readCase } from './read-case.js'
import { indexRepoFiles, type RepoFiles } from './repo-files.js'
import type {
  JUnitErrorCode,
  JUnitResult,
  ParseJUnitOptions,
  SuiteSummary,
  TestCase,
  TestReport,
  TestStatus,
} from './types.js'
import { attr, children, type XmlNode } from './xml-node.js'

export type {
  JUnitErrorCode,
  JUnitResult,
  ParseJUnitOptions,
  SuiteSummary,
  TestCase,
  TestReport,
  TestStatus,
} from './types.js'

export const DEFAULT_MAX_BYTES = 200 * 1024 * 1024
export const DEFAULT_DETAILS_CHARS = 65_536
export const DEFAULT_OUTPUT_CHARS = 65_536

const LISTS = new Set([
  'testsuite',
  'testcase',
  'failure',
  'error',
  'skipped',
  'flakyFailure',
  'flakyError',
  'rerunFailure',
  'rerunError',
  'system-out',
  'system-err',
])

/**
 * Tuned for speed and memory on big reports (see runner/README.md): no entity processing (we
 * decode the few strings we keep; DOCTYPE entities are never expanded), no number parsing, and
 * the bodies of failures and outputs kept as raw stop-node text, decoded only when read.
 */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  jPath: false,
  isArray: (name) => LISTS.has(name),
  stopNodes: ['*.failure', '*.error', '*.skipped', '*.system-out', '*.system-err', '*.stackTrace'],
})

export interface WalkContext {
  /** The workspace from workspaceRoot(), '' for none. */
  root: string
  /** relativePath() against the workspace, remembered: a report names few files many times. */
  relative: (file: string) => string
  maxDetails: number
  maxOutput: number
  /** The checkout's files (ParseJUnitOptions.repoFiles), indexed. */
  files: RepoFiles
  /** pytest's xunit1 `line` attribute counts from 0. */
  zeroBasedLines: boolean
  cases: TestCase[]
  suites: SuiteSummary[]
}

function fail(code: JUnitErrorCode, message: string): JUnitResult {
  return { ok: false, error: { code, message } }
}

/** Parses a JUnit XML report (PHPUnit, pytest, Jest, Vitest, Surefire and the like). */
export function parseJUnit(xml: string | Buffer, opts: ParseJUnitOptions = {}): JUnitResult {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES
  const size = typeof xml === 'string' ? stringBytes(xml, maxBytes) : xml.length
  if (size > maxBytes) {
    return fail(
      'too-large',
      `The JUnit report is ${mib(size)} MiB, more than the ${mib(maxBytes)} MiB DevSys reads. ` +
        'Split the test run, or turn off per-test output capture (system-out) in the reporter.',
    )
  }
  const text = toText(xml)
  if (text.trim() === '') {
    return fail(
      'empty',
      'The JUnit report is empty: the test command wrote no report. Check that the tests ran and ' +
        'that the JUnit output path in the test command is the one DevSys reads.',
    )
  }
  const html = htmlTitle(text)
  if (html !== undefined) {
    return fail(
      'not-junit',
      `The JUnit report is an HTML page${html ? ` ("${html}")` : ''}, not JUnit XML: the file ` +
        'probably holds an error page. Check the JUnit output path in the test command.',
    )
  }
  const tags = checkTags(text)
  if (!tags.ok) return fail('not-xml', notXmlMessage(tags))
  let tree: XmlNode
  try {
    tree = parser.parse(text) as XmlNode
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return fail('not-xml', `The JUnit report could not be read as XML: ${reason}.`)
  }
  const root = Object.keys(tree).find((key) => !key.startsWith('?') && key !== '#text')
  if (root !== 'testsuites' && root !== 'testsuite') {
    return fail(
      'not-junit',
      `The report's root element is <${root ?? '(none)'}>, not <testsuites> or <testsuite>, so it ` +
        'is not a JUnit XML report. Point DevSys at the file the JUnit reporter writes ' +
        '(phpunit --log-junit, pytest --junitxml, vitest --reporter=junit, jest-junit).',
    )
  }
  return { ok: true, report: buildReport(tree, root, opts) }
}

function buildReport(tree: XmlNode, rootTag: string, opts: ParseJUnitOptions): TestReport {
  // The root is a list when it is <testsuite> (isArray), an object or '' when <testsuites>.
  const top = rootTag === 'testsuites' ? children(tree, 'testsuites')[0] : undefined
  const topSuites = top ? children(top, 'testsuite') : children(tree, 'testsuite')
  const root = workspaceRoot(opts.workspace)
  const seen = new Map<string, string>()
  const ctx: WalkContext = {
    root,
    relative: (file) => {
      let path = seen.get(file)
      if (path === undefined) {
        path = relativePath(file, root)
        if (seen.size < 10_000) seen.set(file, path)
      }
      return path
    },
    files: indexRepoFiles(opts.repoFiles),
    maxDetails: opts.maxDetailsChars ?? DEFAULT_DETAILS_CHARS,
    maxOutput: opts.maxOutputChars ?? DEFAULT_OUTPUT_CHARS,
    zeroBasedLines:
      (top !== undefined && attr(top, '@name') === 'pytest tests') ||
      topSuites.some((suite) => attr(suite, '@name') === 'pytest'),
    cases: [],
    suites: [],
  }
  let summed = 0
  // Cases straight under <testsuites> are not in the schema, but some tools write them.
  if (top) for (const node of children(top, 'testcase')) summed += addCase(node, '', undefined, ctx)
  for (const suite of topSuites) summed += walkSuite(suite, '', undefined, ctx).timeMs
  const report: TestReport = {
    tests: ctx.cases.length,
    passed: 0,
    failed: 0,
    errored: 0,
    skipped: 0,
    timeMs: (top && secondsToMs(attr(top, '@time'))) ?? round(summed),
    suites: ctx.suites,
    cases: ctx.cases,
  }
  for (const c of ctx.cases) report[c.status] += 1
  return report
}

function walkSuite(
  node: XmlNode,
  parentPath: string,
  parentFile: string | undefined,
  ctx: WalkContext,
): SuiteSummary {
  const name = attr(node, '@name') ?? ''
  const path = name === '' ? parentPath : parentPath === '' ? name : `${parentPath} › ${name}`
  const fileAttr = attr(node, '@file')
  // jest-junit with `{filepath}` names the suite by its test file: better than compiled frames.
  const file =
    fileAttr !== undefined
      ? ctx.relative(fileAttr)
      : SOURCE_PATH.test(name)
        ? ctx.relative(name)
        : parentFile
  const summary: SuiteSummary = {
    name: path,
    tests: 0,
    passed: 0,
    failed: 0,
    errored: 0,
    skipped: 0,
    timeMs: 0,
  }
  if (file !== undefined) summary.file = file
  ctx.suites.push(summary)
  let summed = 0
  const first = ctx.cases.length
  for (const testcase of children(node, 'testcase')) summed += addCase(testcase, path, file, ctx)
  mergeReruns(ctx.cases, first)
  for (let i = first; i < ctx.cases.length; i++) count(summary, ctx.cases[i]?.status)
  for (const child of children(node, 'testsuite')) {
    const sub = walkSuite(child, path, file, ctx)
    summary.tests += sub.tests
    summary.passed += sub.passed
    summary.failed += sub.failed
    summary.errored += sub.errored
    summary.skipped += sub.skipped
    summed += sub.timeMs
  }
  summary.timeMs = secondsToMs(attr(node, '@time')) ?? round(summed)
  return summary
}

function addCase(node: XmlNode, suite: string, file: string | undefined, ctx: WalkContext): number {
  const testCase = readCase(node, suite, file, ctx)
  ctx.cases.push(testCase)
  return testCase.timeMs
}

function count(summary: SuiteSummary, status: TestStatus | undefined): void {
  if (status === undefined) return
  summary.tests += 1
  summary[status] += 1
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

/** UTF-8 size of a string, computed only when it could exceed the limit. */
function stringBytes(text: string, limit: number): number {
  return text.length * 3 <= limit ? text.length : Buffer.byteLength(text, 'utf8')
}

/** The report's text: byte order marks (UTF-8, UTF-16) and a declared Latin-1 encoding honoured. */
function toText(input: string | Buffer): string {
  if (typeof input === 'string') return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) return input.toString('utf8', 3)
  if (input[0] === 0xff && input[1] === 0xfe) {
    return new TextDecoder('utf-16le').decode(input.subarray(2))
  }
  if (input[0] === 0xfe && input[1] === 0xff) {
    return new TextDecoder('utf-16be').decode(input.subarray(2))
  }
  const head = input.toString('latin1', 0, Math.min(input.length, 200))
  const encoding = /^<\?xml[^>]*encoding\s*=\s*["']([\w.-]+)["']/.exec(head)?.[1]?.toLowerCase()
  if (encoding && /^(iso-8859-1|iso8859-1|latin-?1|windows-1252|cp1252)$/.test(encoding)) {
    return new TextDecoder('windows-1252').decode(input)
  }
  return input.toString('utf8')
}

/** Says what is wrong with the XML, and names the unclosed elements of a cut-off report. */
function notXmlMessage(check: Exclude<TagCheck, { ok: true }>): string {
  if (check.kind === 'no-element') {
    return 'The JUnit report holds no XML element: it is not XML at all. Check that the file is the report your test tool wrote.'
  }
  if (check.kind === 'cut-off') {
    const names = check.open.map((name) => `<${name}>`).reverse()
    return (
      `The JUnit report is cut off: it ends before ${names.join(', ')} ` +
      `${names.length === 1 ? 'is' : 'are'} closed. A test run that was killed or ran out of ` +
      'disk leaves a partial report; run the tests again.'
    )
  }
  const expected = check.expected === undefined ? 'no open element' : `</${check.expected}>`
  return (
    `The JUnit report is not well-formed XML: line ${check.line} has </${check.found}> where ` +
    `${expected} was expected. Check that the file is the report your test tool wrote.`
  )
}

/** The page title when the text is an HTML page ('' when it has none), otherwise undefined. */
function htmlTitle(text: string): string | undefined {
  const head = text.slice(0, 4096)
  if (!/^\s*(<!--[\s\S]*?-->\s*)*(<!DOCTYPE\s+html|<html[\s>])/i.test(head)) return undefined
  const title = /<title[^>]*>([^<]{0,200})/i.exec(head)?.[1]?.trim()
  return title ?? ''
}
