import { type JUnitLayout, scanJUnit, type TagCheck } from './scan-junit.js'
import type { JUnitErrorCode } from './types.js'

/** A report that may be walked: its UTF-8 bytes and their scanned layout, or why it may not. */
export type Admission =
  | { ok: true; bytes: Buffer; layout: JUnitLayout }
  | { ok: false; error: { code: JUnitErrorCode; message: string } }

/**
 * The checks made on a report's raw bytes before any of it is parsed: its size, its encoding, that
 * it holds something, that it is not an HTML error page, that its tags are balanced and that its
 * root is a JUnit one. Each refusal says what the file is and what to check.
 */
export function admitReport(xml: string | Buffer, maxBytes: number): Admission {
  const size = typeof xml === 'string' ? stringBytes(xml, maxBytes) : xml.length
  if (size > maxBytes) {
    return fail(
      'too-large',
      `The JUnit report is ${mib(size)} MiB, more than the ${mib(maxBytes)} MiB DevSys reads. ` +
        'Split the test run, or turn off per-test output capture (system-out) in the reporter.',
    )
  }
  const bytes = toBytes(xml)
  if (isBlank(bytes)) {
    return fail(
      'empty',
      'The JUnit report is empty: the test command wrote no report. Check that the tests ran and ' +
        'that the JUnit output path in the test command is the one DevSys reads.',
    )
  }
  const html = htmlTitle(bytes.toString('utf8', 0, Math.min(bytes.length, 4096)))
  if (html !== undefined) {
    return fail(
      'not-junit',
      `The JUnit report is an HTML page${html ? ` ("${html}")` : ''}, not JUnit XML: the file ` +
        'probably holds an error page. Check the JUnit output path in the test command.',
    )
  }
  const layout = scanJUnit(bytes)
  if (!layout.check.ok) return fail('not-xml', notXmlMessage(layout.check))
  if (layout.root !== 'testsuites' && layout.root !== 'testsuite') {
    return fail(
      'not-junit',
      `The report's root element is <${layout.root ?? '(none)'}>, not <testsuites> or <testsuite>, so it ` +
        'is not a JUnit XML report. Point DevSys at the file the JUnit reporter writes ' +
        '(phpunit --log-junit, pytest --junitxml, vitest --reporter=junit, jest-junit).',
    )
  }
  return { ok: true, bytes, layout }
}

function fail(code: JUnitErrorCode, message: string): Admission {
  return { ok: false, error: { code, message } }
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

/** UTF-8 size of a string, computed only when it could exceed the limit. */
function stringBytes(text: string, limit: number): number {
  return text.length * 3 <= limit ? text.length : Buffer.byteLength(text, 'utf8')
}

/**
 * The report as UTF-8 bytes: a UTF-8 byte order mark skipped, UTF-16 and a declared Latin-1
 * encoding re-encoded (rare, so the copy is acceptable), UTF-8 used in place.
 */
function toBytes(input: string | Buffer): Buffer {
  if (typeof input === 'string') {
    return Buffer.from(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input, 'utf8')
  }
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) return input.subarray(3)
  if (input[0] === 0xff && input[1] === 0xfe) {
    return Buffer.from(new TextDecoder('utf-16le').decode(input.subarray(2)), 'utf8')
  }
  if (input[0] === 0xfe && input[1] === 0xff) {
    return Buffer.from(new TextDecoder('utf-16be').decode(input.subarray(2)), 'utf8')
  }
  const head = input.toString('latin1', 0, Math.min(input.length, 200))
  const encoding = /^<\?xml[^>]*encoding\s*=\s*["']([\w.-]+)["']/.exec(head)?.[1]?.toLowerCase()
  if (encoding && /^(iso-8859-1|iso8859-1|latin-?1|windows-1252|cp1252)$/.test(encoding)) {
    return Buffer.from(new TextDecoder('windows-1252').decode(input), 'utf8')
  }
  return input
}

/** Whether the report is only whitespace, as String.prototype.trim() sees it. */
function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) continue
    // Unicode spaces (no-break and the like) are blank to trim() too: rare, so decode to check.
    return c >= 0x80 && bytes.toString('utf8', i).trim() === ''
  }
  return true
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
