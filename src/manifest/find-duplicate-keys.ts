import { isMap, isScalar, isSeq } from 'yaml'
import { toPointer } from './json-pointer.js'
import type { ManifestProblem } from './types.js'

/** A position in the original text, as load-document computes it. */
type Position = { line: number; column: number; endLine: number }

/** A map key as text: scalar keys by value (so `200:` and `"200":` are the same key). */
export function keyText(key: unknown): string | null {
  if (isScalar(key)) return String(key.value)
  return typeof key === 'string' ? key : null
}

/**
 * Every repeated key in every object, positioned at the repetition. JSON.parse and YAML's
 * toJS silently keep the last value, so without this a typo'd duplicate would go unnoticed.
 */
export function findDuplicateKeys(
  node: unknown,
  segments: string[],
  pos: (start: number, end?: number) => Position,
): ManifestProblem[] {
  const problems: ManifestProblem[] = []
  if (isMap(node)) {
    const seen = new Set<string>()
    for (const pair of node.items) {
      const name = keyText(pair.key)
      if (name === null) continue
      const path = [...segments, name]
      if (seen.has(name) && isScalar(pair.key) && pair.key.range) {
        problems.push({
          pointer: toPointer(path),
          ...pos(pair.key.range[0], pair.key.range[1]),
          message: `duplicate key '${name}'`,
          hint: `each key may appear once in an object; remove or merge the repeated '${name}'`,
        })
      }
      seen.add(name)
      problems.push(...findDuplicateKeys(pair.value, path, pos))
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      problems.push(...findDuplicateKeys(item, [...segments, String(index)], pos))
    })
  }
  return problems
}
