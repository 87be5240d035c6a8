import { type Document, isAlias, isMap, isScalar, isSeq, type Node } from 'yaml'
import { findDuplicateKeys, keyText } from './find-duplicate-keys.js'
import { findJsonSyntaxError } from './find-json-syntax-error.js'
import { parseYamlDocuments } from './parse-yaml-documents.js'
import type { ManifestOrigin, ManifestProblem } from './types.js'

/** A place in the original text: 1-based, with the origin's line offset applied. */
export interface SourcePosition {
  line: number
  column: number
  endLine: number
}

/** A parsed JSON or YAML document that can say where each value was written. */
export interface LoadedDocument {
  value: unknown
  format: 'json' | 'yaml'
  /**
   * Position of the value at the JSON pointer segments, or of its nearest written ancestor when
   * the value is missing (e.g. filled in by a default). With key: the property name instead.
   */
  locate(segments: readonly string[], key?: boolean): SourcePosition
}

export interface LoadOptions {
  /** Largest accepted text, in UTF-8 bytes. */
  maxBytes: number
  /** What the text is, for messages: 'manifest', 'config file'. */
  what: string
  /** When set, empty text (or only comments) loads as this value instead of being a problem. */
  emptyValue?: Record<string, unknown>
}

export type LoadResult =
  | { ok: true; doc: LoadedDocument; problems: ManifestProblem[] }
  | { ok: false; problems: ManifestProblem[] }

/** Deepest nesting of lists and objects accepted; real manifests need fewer than 10. */
const MAX_NESTING = 100

const YAML_HINTS: Record<string, string> = {
  BAD_INDENT:
    'check the indentation: entries of the same list or object start in the same column, indented with spaces',
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  BLOCK_AS_IMPLICIT_KEY: 'check this line and the one above: a "key: value" pair may be broken',
  MULTILINE_IMPLICIT_KEY:
    'a key must fit on one line and be followed by ": "; check for a missing colon or an unquoted value',
  MISSING_CHAR:
    "something is missing here: check the indentation, a '- ' before a list item, or a closing quote or bracket",
  UNEXPECTED_TOKEN:
    'put values that contain special characters (: # { } [ ] , & * ! | > \' " % @ `) in quotes',
  ALIAS_PROPS: 'an alias (*name) cannot have a tag or anchor; remove it',
  BAD_ALIAS: 'make sure the alias refers to an anchor (&name) defined earlier',
}

/** Formats a byte count the way limits are written: '1 MiB', '512 KiB', '1000 bytes'. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} bytes`
}

/** Picks json or yaml: the origin's format, else the file extension, else the first character. */
export function detectFormat(text: string, origin: ManifestOrigin): 'json' | 'yaml' {
  if (origin.format) return origin.format
  const path = origin.path?.toLowerCase()
  if (path?.endsWith('.json')) return 'json'
  if (path?.endsWith('.yml') || path?.endsWith('.yaml')) return 'yaml'
  return /^\uFEFF?\s*[{[]/.test(text) ? 'json' : 'yaml'
}

/**
 * Parses JSON or YAML text, keeping the position of every value. Syntax errors, multiple YAML
 * documents and a non-object top level are fatal; duplicate keys are returned as problems next
 * to the loaded document so they are reported together with schema problems.
 */
export function loadDocument(text: string, origin: ManifestOrigin, opts: LoadOptions): LoadResult {
  const lineOffset = origin.lineOffset ?? 0
  const lines = lineStarts(text)
  const pos = (start: number, end = start + 1): SourcePosition => {
    let last = Math.max(start, end - 1)
    while (last > start && /\s/.test(text.charAt(last))) last--
    const a = offsetToLineColumn(lines, start)
    return {
      line: a.line + lineOffset,
      column: a.column,
      endLine: lineOf(lines, last) + lineOffset,
    }
  }
  const fatal = (offset: number, message: string, hint: string, pointer = ''): LoadResult => ({
    ok: false,
    problems: [{ pointer, ...pos(offset), message, hint }],
  })

  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > opts.maxBytes) {
    return fatal(
      0,
      `${opts.what} is ${bytes} bytes, over the ${formatBytes(opts.maxBytes)} limit`,
      `shorten the ${opts.what} to at most ${opts.maxBytes} bytes, e.g. by moving large data out of it`,
    )
  }
  // Deep flow nesting exhausts the parsers' stack, and V8 can then die compiling a regular
  // expression (a fatal out-of-memory, not a catchable error), so refuse it before parsing.
  const tooDeep = findExcessNesting(text, MAX_NESTING)
  if (tooDeep !== undefined) {
    return fatal(
      tooDeep,
      `${opts.what} nests brackets more than ${MAX_NESTING} levels deep`,
      'flatten the nested lists and objects',
    )
  }
  const format = detectFormat(text, origin)
  const isEmpty = text.replace(/^\uFEFF/, '').trim() === ''
  if (isEmpty && opts.emptyValue) {
    const value = opts.emptyValue
    return { ok: true, problems: [], doc: { value, format, locate: () => pos(0) } }
  }
  if (isEmpty) {
    return fatal(0, `${opts.what} is empty`, `write the ${opts.what} as a JSON or YAML object`)
  }

  let jsonValue: unknown
  if (format === 'json') {
    // A BOM is replaced by a space rather than removed, so offsets stay those of the text.
    const jsonText = text.replace(/^\uFEFF/, ' ')
    try {
      jsonValue = JSON.parse(jsonText)
    } catch (error) {
      const found = findJsonSyntaxError(jsonText)
      const v8 = error instanceof Error ? error.message : String(error)
      const offset = found?.offset ?? Number(/position (\d+)/.exec(v8)?.[1] ?? 0)
      return fatal(
        offset,
        `invalid JSON: ${found?.message ?? v8.slice(0, 200)}`,
        found?.hint ?? 'fix the JSON syntax at this position',
      )
    }
  }

  let docs: Document.Parsed[]
  try {
    const parsed = parseYamlDocuments(text, MAX_NESTING)
    if (!parsed.ok) {
      // Block nesting (indentation, '- - -') is refused here, before the recursive steps.
      return fatal(
        parsed.offset,
        `${opts.what} nests lists and objects more than ${MAX_NESTING} levels deep`,
        `flatten the nested lists and objects; a ${opts.what} needs only a few levels`,
      )
    }
    docs = parsed.docs
  } catch (error) {
    return fatal(0, `${opts.what} could not be parsed: ${String(error)}`, 'simplify the nesting')
  }
  const first = docs[0]
  if (format === 'yaml') {
    const second = docs[1]
    if (second) {
      // The second document's range starts after its '---' marker; point at the marker.
      const start = second.range?.[0] ?? 0
      const marker = text.lastIndexOf('---', start)
      return fatal(
        marker === -1 ? start : marker,
        `${opts.what} holds ${docs.length} YAML documents separated by ---; DevSys reads exactly one`,
        'remove the --- line and the documents after it, or split them into separate files',
      )
    }
    const syntax = [...(first?.errors ?? []), ...(first?.warnings ?? [])]
    if (syntax.length > 0) {
      return {
        ok: false,
        problems: syntax.map((e) => ({
          pointer: '',
          ...pos(e.pos[0], e.pos[1]),
          message: `invalid YAML: ${e.message}`,
          hint:
            YAML_HINTS[e.code] ??
            'fix the YAML syntax here; putting the value in quotes often helps',
        })),
      }
    }
    if (first === undefined || first.contents === null) {
      if (opts.emptyValue) {
        const value = opts.emptyValue
        return { ok: true, problems: [], doc: { value, format, locate: () => pos(0) } }
      }
      return fatal(0, `${opts.what} is empty`, `write the ${opts.what} as a YAML or JSON object`)
    }
  }

  let value: unknown = jsonValue
  if (format === 'yaml') {
    try {
      value = first?.toJS({ maxAliasCount: 100 })
    } catch (error) {
      return fatal(
        0,
        `${opts.what} could not be read: ${String(error)}`,
        'use fewer aliases (*name)',
      )
    }
  }
  const root = first?.contents ?? null
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const found = Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`
    return fatal(
      root?.range?.[0] ?? 0,
      `${opts.what} must be an object (key: value pairs), found ${found}`,
      'write the properties at the top level, e.g. id, title, stack',
    )
  }

  const locate = (segments: readonly string[], key = false): SourcePosition => {
    const found = walk(root, segments, first)
    const range = (key && found.complete ? found.key?.range : undefined) ?? found.node?.range
    return range ? pos(range[0], range[1]) : pos(0)
  }
  return { ok: true, problems: findDuplicateKeys(root, [], pos), doc: { value, format, locate } }
}

type Walked = { node: Node | null; key: Node | null; complete: boolean }

/** Follows pointer segments through the YAML node tree as far as they exist. */
function walk(
  root: Node | null,
  segments: readonly string[],
  doc: Document.Parsed | undefined,
): Walked {
  let node = resolveAlias(root, doc)
  let key: Node | null = null
  for (const segment of segments) {
    let next: Node | null = null
    if (isMap(node)) {
      // The last of repeated keys, as its value is the one that counts (like JSON.parse).
      const pair = node.items.findLast((p) => keyText(p.key) === segment)
      if (pair) {
        key = isScalar(pair.key) ? pair.key : null
        next = resolveAlias(pair.value as Node | null, doc)
      }
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      key = null
      next = resolveAlias(node.items[Number(segment)] as Node | null, doc)
    }
    if (next === null) return { node, key: null, complete: false }
    node = next
  }
  return { node, key, complete: true }
}

function resolveAlias(
  node: Node | null | undefined,
  doc: Document.Parsed | undefined,
): Node | null {
  if (node && isAlias(node) && doc) return (node.resolve(doc) as Node | undefined) ?? null
  return node ?? null
}

/**
 * Offset of the first [ or { opened deeper than max, counting every bracket (also in strings,
 * which only makes the check stricter for text with many unbalanced brackets).
 */
function findExcessNesting(text: string, max: number): number | undefined {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x5b || c === 0x7b) {
      depth++
      if (depth > max) return i
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--
  }
  return undefined
}

function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

/** Index of the last line start at or before offset (binary search). */
function lineIndex(starts: readonly number[], offset: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((starts[mid] ?? 0) <= offset) lo = mid
    else hi = mid - 1
  }
  return lo
}

function lineOf(starts: readonly number[], offset: number): number {
  return lineIndex(starts, offset) + 1
}

function offsetToLineColumn(starts: readonly number[], offset: number) {
  const index = lineIndex(starts, offset)
  return { line: index + 1, column: offset - (starts[index] ?? 0) + 1 }
}
