/**
 * Text helpers for JUnit reports: entity decoding (the XML parser runs with entity processing off,
 * see parse-junit.ts), raw element bodies with CDATA, caps, times and `path:line` locations.
 */

function codePoint(value: number): string {
  const valid =
    value === 0x9 ||
    value === 0xa ||
    value === 0xd ||
    (value >= 0x20 && value <= 0xd7ff) ||
    (value >= 0xe000 && value <= 0x10ffff && value !== 0xfffe && value !== 0xffff)
  return valid ? String.fromCodePoint(value) : '\uFFFD'
}

/**
 * Decodes the five XML entities and numeric character references; leaves anything else as is.
 * The result is one flat string (joined, not concatenated): a report's hundreds of thousands of
 * decoded names would otherwise each be kept as a rope of pieces of the raw text.
 */
export function decodeEntities(text: string): string {
  let amp = text.indexOf('&')
  if (amp === -1) return text
  const parts: string[] = []
  let from = 0
  while (amp !== -1) {
    const semi = text.indexOf(';', amp + 2)
    if (semi === -1 || semi - amp > 10) {
      amp = text.indexOf('&', amp + 1)
      continue
    }
    const value = entity(text.slice(amp + 1, semi))
    if (value === undefined) {
      amp = text.indexOf('&', amp + 1)
      continue
    }
    parts.push(text.slice(from, amp), value)
    from = semi + 1
    amp = text.indexOf('&', from)
  }
  if (from === 0) return text
  parts.push(text.slice(from))
  return parts.join('')
}

function entity(name: string): string | undefined {
  switch (name) {
    case 'amp':
      return '&'
    case 'lt':
      return '<'
    case 'gt':
      return '>'
    case 'quot':
      return '"'
    case 'apos':
      return "'"
  }
  if (name.charCodeAt(0) !== 0x23 /* # */) return undefined
  const hex = name.charCodeAt(1) === 0x78 || name.charCodeAt(1) === 0x58 // x or X
  const digits = name.slice(hex ? 2 : 1)
  if (!(hex ? /^[0-9a-fA-F]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) return undefined
  return codePoint(Number.parseInt(digits, hex ? 16 : 10))
}

/** The text of an element read raw (a parser stop node): CDATA kept verbatim, entities decoded, comments dropped. */
export function decodeBody(raw: string): string {
  if (!raw.includes('<')) return decodeEntities(raw)
  let out = ''
  let i = 0
  while (i < raw.length) {
    const lt = raw.indexOf('<', i)
    if (lt === -1) {
      out += decodeEntities(raw.slice(i))
      break
    }
    out += decodeEntities(raw.slice(i, lt))
    if (raw.startsWith('<![CDATA[', lt)) {
      const end = raw.indexOf(']]>', lt + 9)
      out += raw.slice(lt + 9, end === -1 ? raw.length : end)
      i = end === -1 ? raw.length : end + 3
    } else if (raw.startsWith('<!--', lt)) {
      const end = raw.indexOf('-->', lt + 4)
      i = end === -1 ? raw.length : end + 3
    } else {
      // Markup inside a failure body (rare): keep it as text rather than lose it.
      const gt = raw.indexOf('>', lt)
      out += raw.slice(lt, gt === -1 ? raw.length : gt + 1)
      i = gt === -1 ? raw.length : gt + 1
    }
  }
  return out
}

/** `text` cut to at most `max` characters (never inside a surrogate pair), saying how much was cut. */
export function cap(text: string, max: number): string {
  if (text.length <= max) return text
  const marker = `\n… (cut: ${text.length - max} more characters)`
  let end = Math.max(0, max - marker.length)
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end -= 1
  return text.slice(0, end) + marker
}

/**
 * Milliseconds from a `time` attribute in seconds. Accepts `0.123`, `0,123` (decimal comma),
 * `1,234.5`, `1.234,5` and `1,234,567` (one comma and no dot is a decimal comma; otherwise the
 * last separator is the decimal one), as some locales write them.
 */
export function secondsToMs(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  let text = raw.trim()
  const comma = text.lastIndexOf(',')
  if (comma !== -1) {
    const dot = text.lastIndexOf('.')
    if (dot > comma || (dot === -1 && text.indexOf(',') !== comma)) {
      text = text.replaceAll(',', '') // 1,234.5 or 1,234,567: commas group thousands
    } else {
      text = `${text.slice(0, comma).replaceAll('.', '')}.${text.slice(comma + 1)}` // 0,5 or 1.234,5
    }
  }
  if (text === '') return undefined
  const seconds = Number(text)
  if (!Number.isFinite(seconds) || seconds < 0) return undefined
  return Math.round(seconds * 1_000_000) / 1000
}

/** A positive line number from an attribute, if it is one. */
export function lineNumber(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  return Number.isInteger(value) && value > 0 ? value : undefined
}

/** The workspace as relativePath wants it: `/` separators, no trailing slash, '' for none. */
export function workspaceRoot(workspace: string | undefined): string {
  return (workspace ?? '').replaceAll('\\', '/').replace(/\/+$/, '')
}

/**
 * A file path as the repository knows it: `file://` and the workspace prefix (from
 * workspaceRoot) removed, Windows separators turned into `/`, `./` dropped. Paths outside the
 * workspace stay as they are.
 */
export function relativePath(file: string, root: string): string {
  let path = file.startsWith('file://') ? file.slice(7) : file
  if (path.includes('\\')) path = path.replaceAll('\\', '/')
  if (root !== '' && path.startsWith(root) && path.charCodeAt(root.length) === 0x2f) {
    path = path.slice(root.length + 1)
  }
  while (path.startsWith('./')) path = path.slice(2)
  return path
}

export interface Location {
  file: string
  line: number
}

/**
 * `path:line` (optionally `:column`) where a path starts: at a line start, after whitespace, `(`,
 * `❯` or `file://`. A path needs a `/` unless it starts its line, so Java frames such as
 * `(PostServiceTest.java:42)` (no directory) are not taken for files.
 */
const LOCATION =
  /(^|[\s(❯]|file:\/\/)((?:[A-Za-z]:)?[\w@.~+\-/\\]*[\w@~+-]\.[A-Za-z0-9]{1,10}):(\d{1,9})(?::\d+)?/gm

/** Every plausible source location in a failure text, in order, workspace-relative. */
export function locationsIn(text: string, root: string): Location[] {
  const found: Location[] = []
  for (const match of text.matchAll(LOCATION)) {
    const before = match[1] ?? ''
    const path = match[2] ?? ''
    if (!path.includes('/') && !path.includes('\\')) {
      const start = match.index + before.length
      const prefix = text.slice(text.lastIndexOf('\n', start - 1) + 1, start)
      if (!/^[\s❯]*$/.test(prefix)) continue
    }
    if (
      path.includes('node_modules/') ||
      path.startsWith('node:') ||
      path.startsWith('internal/')
    ) {
      continue
    }
    const line = Number(match[3])
    if (line > 0) found.push({ file: relativePath(path, root), line })
    if (found.length >= 50) break
  }
  return found
}

/**
 * `text` as a string of its own. A substring of 13 characters or more is, in V8, a view into the
 * string it was cut from, which stays alive as long as the view: an attribute value the parser
 * cut from a batch of test cases would keep the whole batch (up to 1 MiB) in memory. The strings
 * a parse remembers for its whole length (classnames, files, suite names) are copied with this.
 */
export function ownCopy(text: string): string {
  // The concatenation is flattened into a new string by slice(); the result refers to it alone.
  return text.length < 13 ? text : ` ${text}`.slice(1)
}
