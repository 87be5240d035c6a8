import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/**
 * Whether a program tests need is on PATH. In CI (CI=true) a missing program is an error, so a
 * test suite cannot pass by skipping; elsewhere the caller skips, and the reason is printed.
 * Use as `describe.skipIf(!requireTool('php', 'serves the generated blog'))(...)`.
 */
export function requireTool(name: string, why: string): boolean {
  if (onPath(name)) return true
  if (process.env.CI === 'true') {
    throw new Error(
      `${name} is not installed, and CI must run every test: ${why}. Install it (see .ci/run).`,
    )
  }
  process.stderr.write(`skipping tests that need ${name} (not found on PATH): ${why}\n`)
  return false
}

function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      // not in this folder
    }
  }
  return false
}
