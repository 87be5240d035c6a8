import { parsePointer } from './json-pointer.js'
import { loadDocument, type SourcePosition } from './load-document.js'
import type { ManifestOrigin } from './types.js'

/**
 * Where the value at a JSON pointer was written in a manifest's text (or its nearest written
 * ancestor), for problems found after validation, e.g. a task id already taken. Text that does
 * not parse yields the first line.
 */
export function locatePointer(
  text: string,
  origin: ManifestOrigin,
  pointer: string,
): SourcePosition {
  const loaded = loadDocument(text, origin, {
    maxBytes: Number.POSITIVE_INFINITY,
    what: 'manifest',
  })
  if (loaded.ok) return loaded.doc.locate(parsePointer(pointer))
  const line = 1 + (origin.lineOffset ?? 0)
  return { line, column: 1, endLine: line }
}
