import { XMLParser } from 'fast-xml-parser'
import { admitReport } from './admit-report.js'
import { ownCopy, relativePath, secondsToMs, workspaceRoot } from './junit-text.js'
import { SOURCE_PATH } from './locate-case.js'
import { mergeReruns } from './merge-reruns.js'
import { readCase } from './read-case.js'
import { readStartTag } from './read-start-tag.js'
import { indexRepoFiles } from './repo-files.js'
import { BARE_CASE, CASE, type JUnitLayout, ROOT, SUITE_CLOSE, SUITE_OPEN } from './scan-junit.js'
import type {
  JUnitResult,
  ParseJUnitOptions,
  SuiteSummary,
  TestCase,
  TestReport,
  TestStatus,
} from './types.js'
import type { WalkContext } from './walk-context.js'
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
export const DEFAULT_TOTAL_DETAILS_CHARS = 8 * 1024 * 1024
export const DEFAULT_LOCATED_CASES = 2_000

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

/**
 * Takes a report's cases as they are settled, in report order, so that a caller packing them
 * (the parsing worker) need not hold them all as objects. It must not keep the array it is given.
 */
export type CaseSink = (cases: readonly TestCase[]) => void

/**
 * Parses a JUnit XML report (PHPUnit, pytest, Jest, Vitest, Surefire and the like). With a
 * `sink`, the cases go to it in order and the report's `cases` holds only those it has not taken.
 */
export function parseJUnit(
  xml: string | Buffer,
  opts: ParseJUnitOptions = {},
  sink?: CaseSink,
): JUnitResult {
  const admitted = admitReport(xml, opts.maxBytes ?? DEFAULT_MAX_BYTES)
  if (!admitted.ok) return admitted
  const { bytes, layout } = admitted
  try {
    return { ok: true, report: buildReport(bytes, layout, opts, sink) }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return {
      ok: false,
      error: { code: 'not-xml', message: `The JUnit report could not be read as XML: ${reason}.` },
    }
  }
}

/** What an open `<testsuite>` (or the root) gathers until its end tag. */
interface Frame {
  summary: SuiteSummary | undefined
  path: string
  file: string | undefined
  timeAttr: string | undefined
  /** Its own cases, in order, then (after its end tag) those of its nested suites. */
  own: TestCase[]
  nested: TestCase[]
  ownMs: number
  subMs: number[]
}

/**
 * Builds the report from the scanned layout, reading one start tag or one `<testcase>` slice at a
 * time: the cases and suites come out in the order the whole-tree walk gave (a suite's own cases,
 * reruns merged, before those of its nested suites; suites parents first).
 */
function buildReport(
  bytes: Buffer,
  layout: JUnitLayout,
  opts: ParseJUnitOptions,
  sink: CaseSink | undefined,
): TestReport {
  const { events, topSuites } = layout
  const counts = { tests: 0, passed: 0, failed: 0, errored: 0, skipped: 0 }
  // A top-level suite's cases are final when it closes, unless cases straight under the root
  // (which come first) are still to come: then nothing is handed over before the end.
  const give = sink !== undefined && !hasRootCases(events) ? sink : undefined
  const settle = (cases: TestCase[]): void => {
    for (const c of cases) counts[c.status] += 1
    counts.tests += cases.length
  }
  const top = events[0] === ROOT ? startTag(bytes, events[1] ?? 0, events[2] ?? 0) : undefined
  let zeroBasedLines = top !== undefined && attr(top, '@name') === 'pytest tests'
  for (let k = 0; k < topSuites.length && !zeroBasedLines; k += 2) {
    const suite = startTag(bytes, topSuites[k] ?? 0, topSuites[k + 1] ?? 0)
    zeroBasedLines = attr(suite, '@name') === 'pytest'
  }
  const root = workspaceRoot(opts.workspace)
  const seen = new Map<string, string>()
  const shared = new Map<string, string>()
  const ctx: WalkContext = {
    root,
    relative: (file) => {
      let path = seen.get(file)
      if (path === undefined) {
        path = ownCopy(relativePath(file, root))
        if (seen.size < 10_000) seen.set(ownCopy(file), path)
      }
      return path
    },
    shared: (text) => {
      const known = shared.get(text)
      if (known !== undefined) return known
      const own = ownCopy(text)
      if (shared.size < 10_000) shared.set(own, own)
      return own
    },
    files: indexRepoFiles(opts.repoFiles),
    maxDetails: opts.maxDetailsChars ?? DEFAULT_DETAILS_CHARS,
    maxOutput: opts.maxOutputChars ?? DEFAULT_OUTPUT_CHARS,
    detailsLeft: opts.maxTotalDetailsChars ?? DEFAULT_TOTAL_DETAILS_CHARS,
    locate: {
      broken: { left: opts.maxLocatedCases ?? DEFAULT_LOCATED_CASES },
      skipped: { left: opts.maxLocatedCases ?? DEFAULT_LOCATED_CASES },
    },
    zeroBasedLines,
    cases: [],
    suites: [],
  }
  const base: Frame = {
    summary: undefined,
    path: '',
    file: undefined,
    timeAttr: top && attr(top, '@time'),
    own: [],
    nested: [],
    ownMs: 0,
    subMs: [],
  }
  const frames: Frame[] = [base]
  // Cases with child elements are parsed in batches: one parser call costs about 30 µs before it
  // reads a byte, more than a passed case's own reading. Bare cases (attributes only, most passed
  // cases) are read from their start tag's bytes; `pending` keeps both kinds in document order.
  const pending: number[] = []
  const slices: string[] = []
  let sliceBytes = 0
  const flush = (): void => {
    if (pending.length === 0) return
    const frame = frames[frames.length - 1] as Frame
    const parsed = slices.length === 0 ? [] : readCaseNodes(slices)
    let next = 0
    for (let k = 0; k < pending.length; k += 3) {
      const start = pending[k + 1] ?? 0
      const end = pending[k + 2] ?? 0
      const node =
        pending[k] === BARE_CASE
          ? (readStartTag(bytes, start, end) ?? startTag(bytes, start, end))
          : (parsed[next++] as XmlNode)
      const testCase = readCase(node, frame.path, frame.file, ctx)
      frame.own.push(testCase)
      frame.ownMs += testCase.timeMs
    }
    pending.length = 0
    slices.length = 0
    sliceBytes = 0
  }
  for (let k = 0; k < events.length; k += 3) {
    const kind = events[k]
    const start = events[k + 1] ?? 0
    const end = events[k + 2] ?? 0
    // Cases straight under <testsuites> are not in the schema, but some tools write them.
    if (kind === BARE_CASE || kind === CASE) {
      pending.push(kind, start, end)
      if (kind === CASE) {
        slices.push(bytes.toString('utf8', start, end))
        sliceBytes += end - start
      }
      if (pending.length >= 3 * BATCH_CASES || sliceBytes >= BATCH_BYTES) flush()
      continue
    }
    flush()
    const frame = frames[frames.length - 1] as Frame
    if (kind === SUITE_OPEN) {
      frames.push(openSuite(startTag(bytes, start, end), frame, ctx))
    } else if (kind === SUITE_CLOSE) {
      frames.pop()
      closeSuite(frame, frames[frames.length - 1] as Frame)
      if (give !== undefined && frames.length === 1) {
        settle(base.nested)
        give(base.nested)
        base.nested = []
      }
    }
  }
  flush()
  const cases = base.own
  for (const c of base.nested) cases.push(c)
  settle(cases)
  let summed = base.ownMs
  for (const ms of base.subMs) summed += ms
  const timeMs = secondsToMs(base.timeAttr) ?? round(summed)
  return { ...counts, timeMs, suites: ctx.suites, cases }
}

/** Whether a `<testcase>` sits straight under the root, outside every `<testsuite>`. */
function hasRootCases(events: Uint32Array): boolean {
  let depth = 0
  for (let k = 0; k < events.length; k += 3) {
    const kind = events[k]
    if (kind === SUITE_OPEN) depth += 1
    else if (kind === SUITE_CLOSE) depth -= 1
    else if ((kind === CASE || kind === BARE_CASE) && depth === 0) return true
  }
  return false
}

function openSuite(node: XmlNode, parent: Frame, ctx: WalkContext): Frame {
  const name = attr(node, '@name') ?? ''
  const parentPath = parent.path
  const path = name === '' ? parentPath : parentPath === '' ? name : `${parentPath} › ${name}`
  const fileAttr = attr(node, '@file')
  // jest-junit with `{filepath}` names the suite by its test file: better than compiled frames.
  const file =
    fileAttr !== undefined
      ? ctx.relative(fileAttr)
      : SOURCE_PATH.test(name)
        ? ctx.relative(name)
        : parent.file
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
  return {
    summary,
    path,
    file,
    timeAttr: attr(node, '@time'),
    own: [],
    nested: [],
    ownMs: 0,
    subMs: [],
  }
}

/** Settles a suite at its end tag and hands its cases and counts to the enclosing one. */
function closeSuite(frame: Frame, parent: Frame): void {
  const summary = frame.summary as SuiteSummary
  const cases = frame.own
  mergeReruns(cases, 0)
  // Nested suites added their counts when they closed; now the suite's own, reruns merged.
  for (const c of cases) count(summary, c.status)
  let summed = frame.ownMs
  for (const ms of frame.subMs) summed += ms
  summary.timeMs = secondsToMs(frame.timeAttr) ?? round(summed)
  for (const c of frame.nested) cases.push(c)
  for (const c of cases) parent.nested.push(c)
  parent.subMs.push(summary.timeMs)
  const own = parent.summary
  if (own) {
    own.tests += summary.tests
    own.passed += summary.passed
    own.failed += summary.failed
    own.errored += summary.errored
    own.skipped += summary.skipped
  }
}

const BATCH_CASES = 1000
const BATCH_BYTES = 1 << 20

/** `<testcase>` elements, each a whole element's text, as parser nodes (one parser call). */
function readCaseNodes(cases: string[]): XmlNode[] {
  const tree = parser.parse(`<batch>${cases.join('')}</batch>`) as XmlNode
  const nodes = children(children(tree, 'batch')[0] ?? {}, 'testcase')
  if (nodes.length === cases.length) return [...nodes]
  throw new Error(`${cases.length} test cases were found but the parser read ${nodes.length}`)
}

/** A start tag's attributes, read by the same parser as the cases. */
function startTag(bytes: Buffer, start: number, end: number): XmlNode {
  const tag = bytes.toString('utf8', start, end)
  const closed = tag.endsWith('/>') ? tag : `${tag.slice(0, -1)}/>`
  const tree = parser.parse(closed) as XmlNode
  const key = Object.keys(tree)[0]
  const node = key === undefined ? undefined : children(tree, key)[0]
  return node ?? {}
}

function count(summary: SuiteSummary, status: TestStatus | undefined): void {
  if (status === undefined) return
  summary.tests += 1
  summary[status] += 1
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000
