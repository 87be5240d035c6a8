/**
 * A fast structural check that runs before fast-xml-parser, which is lenient: it accepts a
 * cut-off document or a mismatched end tag without a word, and would turn a killed test run's
 * report into plausible but wrong counts. XMLValidator catches these but costs as much as the
 * parse itself (0.6 s for 100,000 cases), so this checks only what changes the result: every
 * element is closed, by the right end tag, and there is an element at all. Text, CDATA, comments
 * and attribute values are skipped with indexOf, so the check costs a small part of the parse.
 */

export type TagCheck =
  | { ok: true }
  | { ok: false; kind: 'no-element' }
  | { ok: false; kind: 'cut-off'; open: string[] }
  | { ok: false; kind: 'mismatch'; expected: string | undefined; found: string; line: number }

const SPACE_SLASH_GT = /[\s/>]/g

/** Checks that the elements of `xml` nest and close properly. */
export function checkTags(xml: string): TagCheck {
  const open: string[] = []
  let elements = 0
  let i = xml.indexOf('<')
  while (i !== -1) {
    const next = xml.charCodeAt(i + 1)
    let end: number
    if (next === 0x21 /* ! */) {
      end = skipDeclaration(xml, i)
    } else if (next === 0x3f /* ? */) {
      end = after(xml, '?>', i + 2)
    } else if (next === 0x2f /* / */) {
      const gt = xml.indexOf('>', i + 2)
      if (gt === -1) return { ok: false, kind: 'cut-off', open }
      end = gt + 1
      const name = xml.slice(i + 2, gt).trim()
      const expected = open.pop()
      if (expected !== name) {
        return { ok: false, kind: 'mismatch', expected, found: name, line: lineAt(xml, i) }
      }
    } else {
      SPACE_SLASH_GT.lastIndex = i + 1
      const nameEnd = SPACE_SLASH_GT.test(xml) ? SPACE_SLASH_GT.lastIndex - 1 : xml.length
      const tagEnd = startTagEnd(xml, nameEnd)
      if (tagEnd === -1)
        return { ok: false, kind: 'cut-off', open: [...open, xml.slice(i + 1, nameEnd)] }
      end = tagEnd + 1
      elements += 1
      if (xml.charCodeAt(tagEnd - 1) !== 0x2f /* / */) open.push(xml.slice(i + 1, nameEnd))
    }
    if (end >= xml.length) break
    i = xml.indexOf('<', end)
  }
  if (open.length > 0) return { ok: false, kind: 'cut-off', open }
  return elements === 0 ? { ok: false, kind: 'no-element' } : { ok: true }
}

/** The index of the `>` ending a start tag, skipping quoted attribute values; -1 if none. */
function startTagEnd(xml: string, from: number): number {
  let quote = 0
  for (let i = from; i < xml.length; i++) {
    const c = xml.charCodeAt(i)
    if (quote !== 0) {
      if (c === quote) quote = 0
    } else if (c === 0x3e /* > */) {
      return i
    } else if (c === 0x22 /* " */ || c === 0x27 /* ' */) {
      quote = c
    }
  }
  return -1
}

/** Past a comment, CDATA section or DOCTYPE (with its internal subset) starting at `i`. */
function skipDeclaration(xml: string, i: number): number {
  if (xml.startsWith('<!--', i)) return after(xml, '-->', i + 4)
  if (xml.startsWith('<![CDATA[', i)) return after(xml, ']]>', i + 9)
  const bracket = xml.indexOf('[', i)
  const gt = xml.indexOf('>', i)
  if (bracket !== -1 && bracket < gt) return after(xml, ']>', bracket)
  return gt === -1 ? xml.length : gt + 1
}

function after(xml: string, token: string, from: number): number {
  const at = xml.indexOf(token, from)
  return at === -1 ? xml.length : at + token.length
}

function lineAt(xml: string, offset: number): number {
  let line = 1
  for (let i = xml.indexOf('\n'); i !== -1 && i < offset; i = xml.indexOf('\n', i + 1)) line += 1
  return line
}
