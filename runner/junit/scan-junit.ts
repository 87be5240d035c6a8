/**
 * One pass over a UTF-8 report's bytes. It checks what fast-xml-parser (lenient) lets through
 * silently and would turn a killed run's report into plausible wrong counts: every element
 * closed, by the right end tag, and an element at all (text, CDATA, comments and attribute values
 * skipped with indexOf; XMLValidator costs as much as a parse). On the way it notes where the
 * JUnit structure is: the root's start tag, each `<testsuite>` opening and closing, and each `<testcase>` as a byte range. parse-junit.ts then
 * reads only those small slices, so a 200 MiB report is never held as one string or one tree.
 * Markup bytes are ASCII, and UTF-8 never uses ASCII bytes inside a multi-byte character, so
 * scanning bytes finds the same tags as scanning the decoded text.
 */

import { Column } from './column.js'

/** What the structural check found: a cut-off report names the elements left open. */
export type TagCheck =
  | { ok: true }
  | { ok: false; kind: 'no-element' }
  | { ok: false; kind: 'cut-off'; open: string[] }
  | { ok: false; kind: 'mismatch'; expected: string | undefined; found: string; line: number }

/** Event kinds in JUnitLayout.events, each followed by a start and an end offset. */
export const ROOT = 0
export const SUITE_OPEN = 1
export const SUITE_CLOSE = 2
export const CASE = 3
/** A `<testcase>` with no child markup (self-closing, or only text inside): its start tag's bytes. */
export const BARE_CASE = 4

export interface JUnitLayout {
  check: TagCheck
  /** The first top-level element's name. */
  root: string | undefined
  /**
   * Triples (kind, start, end): ROOT, SUITE_OPEN and BARE_CASE give the start tag's bytes, CASE
   * the whole `<testcase>` element's, SUITE_CLOSE has 0, 0. A case is BARE_CASE when nothing but
   * text lies between its start and end tags (most passed cases): its attributes are all it says. Suites and cases appear only where the JUnit
   * tree reads them: the first `<testsuites>` root, or every top-level `<testsuite>`, and under
   * those `<testsuite>` and `<testcase>` children (not inside `<system-out>` and the like).
   * A typed array: a 640,000-case report has two million of these numbers.
   */
  events: Uint32Array
  /** Start and end of the start tags of the top-level suites, in pairs. */
  topSuites: number[]
}

const LT = 0x3c
const GT = 0x3e
const SLASH = 0x2f
const BANG = 0x21
const QUESTION = 0x3f
const QUOTE = 0x22
const APOS = 0x27
const NEWLINE = 0x0a

// What an open element is to the JUnit structure.
const IGNORED = 0
const ROOT_ROLE = 1
const SUITE_ROLE = 2
const CASE_ROLE = 3

/** Scans `xml` (UTF-8 bytes) for its tag structure and the places of suites and cases. */
export function scanJUnit(xml: Uint8Array): JUnitLayout {
  const b = Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength)
  const names: string[] = []
  const roles: number[] = []
  // Start and start-tag end of each open case.
  const caseStarts: number[] = []
  // Where the last markup (tag, comment, CDATA, instruction) started.
  let lastMarkup = -1
  const events = new Column(Uint32Array)
  const note = (kind: number, start: number, end: number): void => {
    events.push(kind)
    events.push(start)
    events.push(end)
  }
  const topSuites: number[] = []
  let root: string | undefined
  let elements = 0
  const layout = (check: TagCheck): JUnitLayout => ({
    check,
    root,
    events: events.finish(),
    topSuites,
  })
  const cutOff = (open: string[]): JUnitLayout => layout({ ok: false, kind: 'cut-off', open })

  let i = b.indexOf(LT)
  while (i !== -1) {
    const next = b[i + 1]
    let end: number
    if (next === BANG) {
      end = skipDeclaration(b, i)
    } else if (next === QUESTION) {
      end = after(b, '?>', i + 2)
    } else if (next === SLASH) {
      const gt = b.indexOf(GT, i + 2)
      if (gt === -1) return cutOff(names)
      end = gt + 1
      const name = b.toString('utf8', i + 2, gt).trim()
      const expected = names.pop()
      const role = roles.pop()
      if (expected !== name) {
        return layout({ ok: false, kind: 'mismatch', expected, found: name, line: lineAt(b, i) })
      }
      if (role === CASE_ROLE) {
        const tagEnd = caseStarts.pop() as number
        const start = caseStarts.pop() as number
        if (lastMarkup === start) note(BARE_CASE, start, tagEnd)
        else note(CASE, start, end)
      } else if (role === SUITE_ROLE) note(SUITE_CLOSE, 0, 0)
    } else {
      const nameEnd = nameEndAt(b, i + 1)
      const tagEnd = startTagEnd(b, nameEnd)
      const name = b.toString('utf8', i + 1, nameEnd)
      if (tagEnd === -1) return cutOff([...names, name])
      end = tagEnd + 1
      elements += 1
      const parent = roles.length === 0 ? undefined : roles[roles.length - 1]
      let role = IGNORED
      if (parent === undefined) {
        if (root === undefined) {
          root = name
          if (name === 'testsuites') role = ROOT_ROLE
        }
        if (root === 'testsuite' && name === 'testsuite') role = SUITE_ROLE
      } else if (parent === ROOT_ROLE || parent === SUITE_ROLE) {
        if (name === 'testsuite') role = SUITE_ROLE
        else if (name === 'testcase') role = CASE_ROLE
      }
      if (role === ROOT_ROLE) note(ROOT, i, end)
      if (role === SUITE_ROLE) {
        note(SUITE_OPEN, i, end)
        if (parent === undefined || parent === ROOT_ROLE) topSuites.push(i, end)
      }
      if (b[tagEnd - 1] === SLASH) {
        if (role === CASE_ROLE) note(BARE_CASE, i, end)
        else if (role === SUITE_ROLE) note(SUITE_CLOSE, 0, 0)
      } else {
        names.push(name)
        roles.push(role)
        if (role === CASE_ROLE) caseStarts.push(i, end)
      }
    }
    lastMarkup = i
    if (end >= b.length) break
    i = b.indexOf(LT, end)
  }
  if (names.length > 0) return cutOff(names)
  return layout(elements === 0 ? { ok: false, kind: 'no-element' } : { ok: true })
}

/** Where an element name starting at `from` ends: at whitespace, `/` or `>`. */
function nameEndAt(b: Buffer, from: number): number {
  for (let i = from; i < b.length; i++) {
    const c = b[i] as number
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === SLASH || c === GT) return i
  }
  return b.length
}

/** The index of the `>` ending a start tag, skipping quoted attribute values; -1 if none. */
function startTagEnd(b: Buffer, from: number): number {
  let quote = 0
  for (let i = from; i < b.length; i++) {
    const c = b[i] as number
    if (quote !== 0) {
      if (c === quote) quote = 0
    } else if (c === GT) {
      return i
    } else if (c === QUOTE || c === APOS) {
      quote = c
    }
  }
  return -1
}

/** Past a comment, CDATA section or DOCTYPE (with its internal subset) starting at `i`. */
function skipDeclaration(b: Buffer, i: number): number {
  if (startsWith(b, '<!--', i)) return after(b, '-->', i + 4)
  if (startsWith(b, '<![CDATA[', i)) return after(b, ']]>', i + 9)
  const bracket = b.indexOf('[', i)
  const gt = b.indexOf(GT, i)
  if (bracket !== -1 && bracket < gt) return after(b, ']>', bracket)
  return gt === -1 ? b.length : gt + 1
}

function startsWith(b: Buffer, token: string, at: number): boolean {
  for (let k = 0; k < token.length; k++) if (b[at + k] !== token.charCodeAt(k)) return false
  return true
}

function after(b: Buffer, token: string, from: number): number {
  const at = b.indexOf(token, from)
  return at === -1 ? b.length : at + token.length
}

function lineAt(b: Buffer, offset: number): number {
  let line = 1
  for (let i = b.indexOf(NEWLINE); i !== -1 && i < offset; i = b.indexOf(NEWLINE, i + 1)) line += 1
  return line
}
