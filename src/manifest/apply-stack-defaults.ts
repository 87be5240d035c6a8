import type { Manifest } from './types.js'

/**
 * The `tests` section used when a manifest leaves it out, per stack. JSON Schema defaults cannot
 * depend on another property's value, so these are applied in code before validation (and are
 * documented in the `tests` description of specs/project.schema.json). Generators must produce
 * tests that this command runs and that write the JUnit report to this path.
 */
export const DEFAULT_TESTS: Readonly<Record<Manifest['stack'], Readonly<Manifest['tests']>>> = {
  php: {
    command: ['phpunit', '--log-junit', 'build/junit.xml'],
    junit: 'build/junit.xml',
    timeoutSeconds: 300,
  },
  static: {
    command: [
      'node',
      '--test',
      '--test-reporter=junit',
      '--test-reporter-destination=build/junit.xml',
    ],
    junit: 'build/junit.xml',
    timeoutSeconds: 300,
  },
}

/** Fills in `tests` from the stack when the manifest has none; leaves anything else alone. */
export function applyStackDefaults(value: Record<string, unknown>): void {
  if (value.tests !== undefined) return
  const stack = value.stack
  if (stack !== 'php' && stack !== 'static') return
  const defaults = DEFAULT_TESTS[stack]
  value.tests = { ...defaults, command: [...defaults.command] }
}
