import { cap, lineNumber, locationsIn, secondsToMs } from './junit-text.js'
import type { WalkContext } from './parse-junit.js'
import type { TestCase, TestStatus } from './types.js'
import { attr, body, children, type XmlNode } from './xml-node.js'

export const MESSAGE_CHARS = 8_192

/** Source files a classname can name (Vitest writes the test file's path there). */
const SOURCE_PATH = /^[\w@.~+\-/]+\.(?:[cm]?[jt]sx?|py|php|rb|go|java|kts?|cs|rs|vue|svelte)$/

/** One `<testcase>` as a TestCase: status, message, details, output, file and line. */
export function readCase(
  node: XmlNode,
  suite: string,
  suiteFile: string | undefined,
  ctx: WalkContext,
): TestCase {
  const classname = attr(node, '@classname')
  const testCase: TestCase = {
    suite,
    name: attr(node, '@name') ?? '',
    status: 'passed',
    timeMs: secondsToMs(attr(node, '@time')) ?? 0,
  }
  if (classname !== undefined && classname !== '') testCase.classname = classname

  // errors over failures over skips: a case carrying several is reported by its worst outcome.
  let outcome: XmlNode | undefined
  for (const [tag, status] of OUTCOMES) {
    outcome = children(node, tag)[0]
    if (outcome) {
      testCase.status = status
      break
    }
  }
  const flaky = [...children(node, 'flakyFailure'), ...children(node, 'flakyError')]
  const reruns =
    flaky.length + children(node, 'rerunFailure').length + children(node, 'rerunError').length
  if (reruns > 0) testCase.reruns = reruns
  if (testCase.status === 'passed' && flaky[0]) {
    testCase.flaky = true
    outcome = flaky[0]
  }

  let details = ''
  if (outcome) {
    details = outcome === flaky[0] ? stackTrace(outcome) : body(outcome)
    const type = attr(outcome, '@type')
    if (type) testCase.type = type
    const message = attr(outcome, '@message') ?? firstParagraph(details, node, classname)
    if (message) testCase.message = cap(message, MESSAGE_CHARS)
    if (details) testCase.details = cap(details, ctx.maxDetails)
  }
  const out = output(node, 'system-out', ctx.maxOutput)
  if (out) testCase.systemOut = out
  const err = output(node, 'system-err', ctx.maxOutput)
  if (err) testCase.systemErr = err

  locate(testCase, node, suiteFile, details, ctx)
  return testCase
}

const OUTCOMES: ReadonlyArray<readonly [string, TestStatus]> = [
  ['error', 'errored'],
  ['failure', 'failed'],
  ['skipped', 'skipped'],
]

/**
 * File: the case's `file`, else its suite's, else a classname that is a source path, else the first
 * location in the failure text. Line: where the failure text points into that file (the failing
 * assertion), else the `line` attribute (the test's declaration).
 */
function locate(
  testCase: TestCase,
  node: XmlNode,
  suiteFile: string | undefined,
  details: string,
  ctx: WalkContext,
): void {
  const fileAttr = attr(node, '@file')
  let file = fileAttr === undefined ? suiteFile : ctx.relative(fileAttr)
  if (file === undefined && testCase.classname && SOURCE_PATH.test(testCase.classname)) {
    file = ctx.relative(testCase.classname)
  }
  let line = lineNumber(attr(node, '@line'))
  if (line !== undefined && ctx.zeroBasedLines) line += 1
  if (details !== '' && (testCase.status !== 'passed' || testCase.flaky)) {
    const found = locationsIn(details, ctx.root)
    const known = file
    const inFile = known
      ? found.find((l) => l.file === known || l.file.endsWith(`/${known}`))
      : undefined
    if (inFile) line = inFile.line
    else if (file === undefined && found[0]) {
      file = found[0].file
      line = found[0].line
    }
  }
  if (file !== undefined && file !== '') testCase.file = file
  if (line !== undefined && testCase.file !== undefined) testCase.line = line
}

/** Surefire's flaky and rerun elements keep their trace in a `<stackTrace>` child. */
function stackTrace(node: XmlNode): string {
  const trace = children(node, 'stackTrace')[0]
  return trace ? body(trace) : body(node)
}

function output(node: XmlNode, tag: string, max: number): string | undefined {
  const parts = children(node, tag)
    .map(body)
    .filter((text) => text !== '')
  return parts.length === 0 ? undefined : cap(parts.join('\n'), max)
}

/**
 * A message for failures that have no `message` attribute (PHPUnit, Jest): the text's first
 * paragraph, without PHPUnit's leading `Class::method` line and before any stack frame.
 */
function firstParagraph(
  details: string,
  node: XmlNode,
  classname: string | undefined,
): string | undefined {
  if (details === '') return undefined
  const lines = details.slice(0, MESSAGE_CHARS).split('\n')
  const className = attr(node, '@class')
  const head = lines[0] ?? ''
  if (
    (className && head.startsWith(`${className}::`)) ||
    (classname && head.startsWith(`${classname.replaceAll('.', '\\')}::`))
  ) {
    lines.shift()
  }
  const kept: string[] = []
  for (const line of lines) {
    if (line.trim() === '') {
      if (kept.length > 0) break
      continue
    }
    if (/^\s+at\s|^\s*❯\s/.test(line)) break
    kept.push(line)
  }
  const message = kept.join('\n').trim()
  return message === '' ? undefined : message
}
