import type { TestCase, TestReport } from './types.js'

/** The cases that need attention: failed and errored (in report order), then skipped. */
export function failuresFirst(report: TestReport): TestCase[] {
  const broken: TestCase[] = []
  const skipped: TestCase[] = []
  for (const c of report.cases) {
    if (c.status === 'failed' || c.status === 'errored') broken.push(c)
    else if (c.status === 'skipped') skipped.push(c)
  }
  return broken.concat(skipped)
}

/** `suite › name`, or the name alone for a case outside any named suite. */
export function caseTitle(c: TestCase): string {
  return c.suite === '' ? c.name : `${c.suite} › ${c.name}`
}
