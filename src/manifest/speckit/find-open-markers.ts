import type { ManifestProblem } from '../types.js'

const CLARIFICATION = /\[NEEDS CLARIFICATION:?\s*([^\]]*)\]/gi
/**
 * Bracketed text that is not Markdown syntax: not a link or image (`[a](…)`, `[a][b]`, `![a]`),
 * not a reference definition (`[a]: …`), not an index (`a[0]`), not a task box (`[ ]`, `[x]`).
 * spec-kit's template writes every blank this way: `[FEATURE NAME]`, `[DATE]`, `[Brief Title]`,
 * `[###-feature-name]`, `[initial state]`.
 */
const BRACKETED = /(?<![\w\]!\\])\[([^[\]\n]+)\](?![([:])/g
const ARGUMENTS = /\$ARGUMENTS\b/g

/**
 * Every `[NEEDS CLARIFICATION: …]` marker and every template placeholder left in the spec's
 * prose lines (fenced code and HTML comments are not scanned), each at its line and column.
 */
export function findOpenMarkers(
  lines: ReadonlyArray<{ line: number; text: string }>,
): ManifestProblem[] {
  const problems: ManifestProblem[] = []
  const at = (line: number, index: number, message: string, hint: string): ManifestProblem => ({
    pointer: 'spec',
    line,
    column: index + 1,
    endLine: line,
    message,
    hint,
  })
  for (const { line, text } of lines) {
    for (const m of text.matchAll(CLARIFICATION)) {
      const question = (m[1] ?? '').trim()
      problems.push(
        at(
          line,
          m.index,
          `open question: ${question === '' ? '(no text)' : question}`,
          'answer it in the spec (spec-kit: /clarify) and remove the [NEEDS CLARIFICATION: …] marker',
        ),
      )
    }
    for (const m of text.matchAll(BRACKETED)) {
      const inner = (m[1] ?? '').trim()
      if (/^NEEDS CLARIFICATION\b/i.test(inner) || /^[ xX]$/.test(m[1] ?? '')) continue
      problems.push(
        at(
          line,
          m.index,
          `template placeholder '[${inner}]' is still in the spec`,
          "replace it with the feature's own words (spec-kit's /specify fills these in)",
        ),
      )
    }
    for (const m of text.matchAll(ARGUMENTS)) {
      problems.push(
        at(
          line,
          m.index,
          "template placeholder '$ARGUMENTS' is still in the spec",
          'replace it with the feature description (the text given to /specify)',
        ),
      )
    }
  }
  return problems
}
