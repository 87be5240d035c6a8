import { cap, secondsToMs } from './junit-text.js'
import { locateCase } from './locate-case.js'
import type { TestCase } from './types.js'
import type { WalkContext } from './walk-context.js'
import { attr, body, children, type XmlNode } from './xml-node.js'

export const MESSAGE_CHARS = 8_192

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
  if (classname !== undefined && classname !== '') testCase.classname = ctx.shared(classname)

  // errors over failures over skips: a case carrying several is reported by its worst outcome,
  // with the messages of every <error> and <failure> it has (Catch2 writes one per failed check).
  const errors = children(node, 'error')
  const failures = children(node, 'failure')
  const broken = errors.length > 0 ? [...errors, ...failures] : failures
  let outcomes: readonly XmlNode[] = broken.length > 0 ? broken : children(node, 'skipped')
  if (errors.length > 0) testCase.status = 'errored'
  else if (failures.length > 0) testCase.status = 'failed'
  else if (outcomes.length > 0 || SKIP_STATUS.has(attr(node, '@status')?.toLowerCase() ?? ''))
    testCase.status = 'skipped'
  const flaky = [...children(node, 'flakyFailure'), ...children(node, 'flakyError')]
  const reruns =
    flaky.length + children(node, 'rerunFailure').length + children(node, 'rerunError').length
  if (reruns > 0) testCase.reruns = reruns
  if (testCase.status === 'passed' && flaky[0]) {
    testCase.flaky = true
    outcomes = [flaky[0]]
  }

  let details = ''
  const attrMessages: string[] = []
  if (outcomes.length > 0) {
    const bodies = outcomes.map((o) => (o === flaky[0] ? stackTrace(o) : body(o)))
    details = bodies.filter((b) => b !== '').join('\n\n')
    const type = outcomes.map((o) => attr(o, '@type')).find((t) => t)
    if (type) testCase.type = type
    const messages: string[] = []
    outcomes.forEach((o, i) => {
      const own = attr(o, '@message')
      if (own) attrMessages.push(own)
      const message = own || firstParagraph(bodies[i] ?? '', node, classname)
      if (message && !messages.includes(message)) messages.push(message)
    })
    if (messages.length > 0) testCase.message = cap(messages.join('\n'), MESSAGE_CHARS)
    if (details && ctx.detailsLeft > 0) {
      testCase.details = cap(details, ctx.maxDetails)
      ctx.detailsLeft -= testCase.details.length
    }
  }
  const out = output(node, 'system-out', ctx.maxOutput)
  if (out) testCase.systemOut = out
  const err = output(node, 'system-err', ctx.maxOutput)
  if (err) testCase.systemErr = err

  // Past the budget the text is not searched: the case is placed by its attributes.
  let text = ''
  if (
    (details !== '' || attrMessages.length > 0) &&
    (testCase.status !== 'passed' || testCase.flaky)
  ) {
    // Skips have their own budget, so that many of them do not leave failures unplaced.
    const budget = testCase.status === 'skipped' ? ctx.locate.skipped : ctx.locate.broken
    if (budget.left > 0) {
      budget.left -= 1
      text = attrMessages.length > 0 ? `${attrMessages.join('\n')}\n${details}` : details
    }
  }
  const at = locateCase(testCase, node, outcomes[0], suiteFile, text, ctx)
  if (at.file !== undefined) testCase.file = at.file
  if (at.line !== undefined && at.file !== undefined) testCase.line = at.line
  return testCase
}

/** `status` values some tools write for a test that did not run, with no <skipped> element. */
const SKIP_STATUS = new Set(['disabled', 'skipped', 'notrun', 'not run', 'ignored'])

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
