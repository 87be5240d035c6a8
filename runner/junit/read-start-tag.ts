import type { XmlNode } from './xml-node.js'

/**
 * The attributes of the `<testcase>` attributes read for a case with no child elements
 * (read-case.ts, locate-case.ts). Others are left out: nothing reads them from a bare case.
 */
const READ = ['name', 'classname', 'class', 'time', 'status', 'file', 'line'].map((name) => ({
  key: `@${name}`,
  bytes: Buffer.from(name, 'latin1'),
}))

/** The node key of the attribute named by bytes[start, end) if it is one of READ. */
function readKey(bytes: Buffer, start: number, end: number): string | undefined {
  next: for (const { key, bytes: name } of READ) {
    if (name.length !== end - start) continue
    for (let k = 0; k < name.length; k++) if (bytes[start + k] !== name[k]) continue next
    return key
  }
  return undefined
}

const SPACE = 0x20
const TAB = 0x09
const LF = 0x0a
const CR = 0x0d
const EQUALS = 0x3d
const QUOTE = 0x22
const APOS = 0x27
const SLASH = 0x2f
const GT = 0x3e

const isSpace = (c: number | undefined): boolean => c === SPACE || c === TAB || c === LF

/**
 * A start tag's attributes read straight from the bytes, as the node fast-xml-parser gives
 * (parse-junit.ts's options: values raw, entities left for attr() to decode, trimmed), so that
 * readCase() makes the same TestCase of it, at a fraction of the cost and with no string of the
 * tag kept alive by the values. `start`/`end` span `<name ...>` or `<name .../>`. Anything it
 * does not read exactly as the parser would (a carriage return, which the parser normalises; an
 * unquoted value; a name the parser sanitises) returns undefined: the caller then uses the parser.
 */
export function readStartTag(bytes: Buffer, start: number, end: number): XmlNode | undefined {
  const node: XmlNode = {}
  let i = start + 1
  while (i < end && !isSpace(bytes[i]) && bytes[i] !== SLASH && bytes[i] !== GT) {
    if (bytes[i] === CR) return undefined
    i++
  }
  for (;;) {
    while (isSpace(bytes[i])) i++
    const c = bytes[i]
    if (c === GT || (c === SLASH && bytes[i + 1] === GT && i + 2 === end)) return node
    if (c === undefined || i >= end || c === CR || c === EQUALS) return undefined
    const nameStart = i
    for (let n = bytes[i]; i < end && !isSpace(n) && n !== EQUALS && n !== SLASH && n !== GT; ) {
      if (n === CR || n === QUOTE || n === APOS) return undefined
      n = bytes[++i]
    }
    const key = readKey(bytes, nameStart, i)
    while (isSpace(bytes[i])) i++
    if (bytes[i] !== EQUALS) return undefined
    i++
    while (isSpace(bytes[i])) i++
    const quote = bytes[i]
    if (quote !== QUOTE && quote !== APOS) return undefined
    const close = bytes.indexOf(quote, i + 1)
    if (close === -1 || close >= end) return undefined
    if (key !== undefined) {
      for (let k = i + 1; k < close; k++) if (bytes[k] === CR) return undefined
      node[key] = bytes.toString('utf8', i + 1, close).trim()
    }
    i = close + 1
    // The parser's attribute pattern needs no space between attributes; XML does.
    if (!isSpace(bytes[i]) && bytes[i] !== SLASH && bytes[i] !== GT) return undefined
  }
}
