import type { ManifestProblem } from '../manifest/types.js'

/**
 * Prints a file's problems one per line as `file:line:column pointer: message`, the form
 * editors and terminals turn into links, each followed by how to fix it.
 */
export function printProblems(
  out: (line: string) => void,
  file: string,
  problems: readonly ManifestProblem[],
): void {
  out(`✗ ${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:`)
  for (const p of problems) {
    out(`  ${file}:${p.line}:${p.column} ${p.pointer || '/'}: ${p.message}`)
    out(`      how to fix: ${p.hint}`)
  }
}
