import { readFile } from 'node:fs/promises'
import { parseManifest } from '../manifest/parse-manifest.js'
import { isSpecKitSpec } from '../manifest/speckit/parse-spec-kit.js'
import { printProblems } from './print-problems.js'

/**
 * `devsys validate <manifest>...`: checks each manifest file (or Spec Kit spec.md) exactly as
 * an issue or a push would, and prints every problem with its line and column. Returns the exit code: 0 when all
 * are valid, 1 when one is invalid, 2 when one cannot be read.
 */
export async function validateManifests(
  paths: readonly string[],
  out: (line: string) => void,
): Promise<number> {
  let code = 0
  for (const path of paths) {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? String(error)
      out(`✗ ${path} cannot be read (${reason}): check the path`)
      code = 2
      continue
    }
    const origin = { label: path, path }
    const parsed = parseManifest(text, origin)
    if (parsed.ok) {
      const { id, stack, acceptance } = parsed.manifest
      out(
        isSpecKitSpec(text, origin)
          ? `✓ ${path}: spec '${id}' is valid (${stack} stack, ${acceptance.length} acceptance check${acceptance.length === 1 ? '' : 's'})`
          : `✓ ${path}: manifest '${id}' is valid (${stack} stack)`,
      )
    } else {
      printProblems(out, path, parsed.problems)
      code = Math.max(code, 1)
    }
  }
  return code
}
