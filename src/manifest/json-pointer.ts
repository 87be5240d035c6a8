/** JSON pointers (RFC 6901), the way problems name a place in a manifest. */

/** Escapes one pointer segment: ~ as ~0, / as ~1. */
export function escapePointerSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** Joins segments into a pointer ('' for the whole document). */
export function toPointer(segments: readonly string[]): string {
  return segments.map((s) => `/${escapePointerSegment(s)}`).join('')
}

/** Splits a pointer into unescaped segments. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
}
