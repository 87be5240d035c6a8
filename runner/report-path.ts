import { posix } from 'node:path'

/**
 * Checks a report path taken from the repo config: relative, inside the workspace, no `..`.
 * Returns it normalized with forward slashes. Throws a message that names the setting.
 */
export function checkReportPath(junitPath: string): string {
  const normalized = posix.normalize(junitPath.replaceAll('\\', '/'))
  if (
    junitPath.includes('\0') ||
    normalized === '.' ||
    normalized.endsWith('/') ||
    posix.isAbsolute(normalized) ||
    normalized === '..' ||
    normalized.startsWith('../')
  ) {
    throw new Error(
      `The JUnit report path ${JSON.stringify(junitPath)} must be a file path relative to the repository, inside it (like "build/junit.xml").`,
    )
  }
  return normalized
}
