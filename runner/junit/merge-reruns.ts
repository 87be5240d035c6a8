import type { TestCase } from './types.js'

/**
 * Folds reruns written as repeated `<testcase>` elements of one suite (go-junit-report and
 * gotestsum with reruns, jest-junit with `jest.retryTimes`) into one case, in place from `first`
 * on. Only a repeated case that failed at least once is folded: when its last run passed it is
 * `passed` and `flaky` (with the first failure's message, stack and place), otherwise it keeps
 * its last failure; `reruns` counts the extra runs. Repeats that all passed stay as they are.
 */
export function mergeReruns(cases: TestCase[], first: number): void {
  const groups = new Map<string, TestCase[]>()
  for (let i = first; i < cases.length; i++) {
    const c = cases[i] as TestCase
    const key = `${c.classname ?? ''}\u0000${c.name}`
    const group = groups.get(key)
    if (group) group.push(c)
    else groups.set(key, [c])
  }
  const drop = new Set<TestCase>()
  for (const runs of groups.values()) {
    if (runs.length < 2) continue
    const failed = runs.filter((c) => c.status === 'failed' || c.status === 'errored')
    const firstFailure = failed[0]
    if (firstFailure === undefined) continue
    const last = runs[runs.length - 1] as TestCase
    const kept: TestCase =
      last.status === 'passed'
        ? { ...firstFailure, status: 'passed', flaky: true, timeMs: sum(runs) }
        : { ...(failed[failed.length - 1] as TestCase), timeMs: sum(runs) }
    kept.reruns = runs.length - 1 + (firstFailure.reruns ?? 0)
    const at = cases.indexOf(runs[0] as TestCase)
    cases[at] = kept
    for (const c of runs.slice(1)) drop.add(c)
  }
  if (drop.size === 0) return
  const rest = cases.slice(first).filter((c) => !drop.has(c))
  cases.splice(first, cases.length - first, ...rest)
}

function sum(runs: TestCase[]): number {
  return Math.round(runs.reduce((ms, c) => ms + c.timeMs, 0) * 1000) / 1000
}
