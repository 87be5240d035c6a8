import { describe, expect, it } from 'vitest'
import {
  fixMessage,
  type LoopEnd,
  type LoopSteps,
  runSelfFixLoop,
} from '../../src/generate/self-fix-loop.js'
import { GenerateError, type TestFeedback } from '../../src/generate/types.js'
import type { TestOutcome } from '../../src/report/format-tests.js'

const output = { text: '', droppedBytes: 0 }

/** A report with `failed` failing cases out of 2. */
function outcome(failed: number): TestOutcome {
  const cases = [0, 1].map((i) => ({
    suite: 'suite',
    name: `case ${i}`,
    status: i < failed ? ('failed' as const) : ('passed' as const),
    timeMs: 1,
    ...(i < failed ? { message: `case ${i} broke` } : {}),
  }))
  return {
    kind: 'report',
    report: {
      tests: 2,
      passed: 2 - failed,
      failed,
      errored: 0,
      skipped: 0,
      timeMs: 2,
      suites: [],
      cases,
    },
    runner: 'local',
    exitCode: failed > 0 ? 1 : 0,
    durationMs: 5,
    stdout: { text: 'ran 2 tests', droppedBytes: 0 },
    stderr: output,
  }
}

/**
 * Fake steps: `plan[i]` is what iteration i+1 does (files it changes, failing tests after it,
 * or an error to throw). Records the calls.
 */
function steps(plan: Array<{ files?: string[]; failing?: number; error?: Error }>) {
  const calls: string[] = []
  const seen: Array<TestFeedback | undefined> = []
  const ends: Array<LoopEnd | undefined> = []
  let sha = 0
  let current = 0
  const fake: LoopSteps = {
    async generate(iteration, previous) {
      calls.push(`generate ${iteration}`)
      seen.push(previous)
      current = iteration - 1
      const step = plan[current]
      if (step?.error) throw step.error
      return { files: step?.files ?? [], summary: `run ${iteration}` }
    },
    async commit(message) {
      calls.push(`commit ${message.split('\n')[0]}`)
      const files = plan[current]?.files ?? []
      if (files.length > 0) sha += 1
      return { committed: files.length > 0, sha: `sha${sha}`, files }
    },
    async push() {
      calls.push('push')
    },
    async test(at) {
      calls.push(`test ${at}`)
      return { outcome: outcome(plan[current]?.failing ?? 0), testRunId: null }
    },
    async tested(_iteration, end) {
      ends.push(end)
    },
    async save() {},
  }
  return { fake, calls, seen, ends }
}

describe('runSelfFixLoop', () => {
  it('stops when a later iteration changes nothing: the same tests would fail again', async () => {
    const s = steps([{ files: ['a'], failing: 1 }, { files: [] }])
    const loop = await runSelfFixLoop(s.fake, {
      maxIterations: 3,
      budgetMs: 60_000,
      message: 'Generate',
    })
    expect(loop.end).toBe('unchanged')
    expect(loop.sha).toBe('sha1')
    expect(s.calls).toEqual([
      'generate 1',
      'commit Generate',
      'push',
      'test sha1',
      'generate 2',
      'commit Fix 1 failing test (iteration 2 of 3)',
    ])
    // The second run got the first run's failure.
    expect(s.seen[1]?.failures).toEqual([
      { name: 'suite › case 0', status: 'failed', message: 'case 0 broke' },
    ])
    expect(s.seen[1]?.outputTail).toBe('ran 2 tests')
  })

  it('does not retest a first iteration that changed nothing on a commit tested before', async () => {
    const s = steps([{ files: [] }])
    const loop = await runSelfFixLoop(s.fake, {
      maxIterations: 3,
      budgetMs: 60_000,
      message: 'Revise',
      testedSha: 'sha0',
    })
    expect(loop).toMatchObject({ end: 'untested', committed: false, outcome: null })
    expect(s.calls).toEqual(['generate 1', 'commit Revise'])
  })

  it('tests a first iteration that changed nothing when that commit was never tested', async () => {
    const s = steps([{ files: [], failing: 0 }])
    const loop = await runSelfFixLoop(s.fake, { maxIterations: 3, budgetMs: 60_000, message: 'm' })
    expect(loop.end).toBe('passed')
    expect(s.calls).toEqual(['generate 1', 'commit m', 'test sha0'])
  })

  it('throws a first iteration’s generator failure (nothing pushed), ends the loop on a later one', async () => {
    const first = steps([{ error: new GenerateError('timeout', 'too slow') }])
    await expect(
      runSelfFixLoop(first.fake, { maxIterations: 3, budgetMs: 60_000, message: 'm' }),
    ).rejects.toThrow('too slow')
    const later = steps([
      { files: ['a'], failing: 2 },
      { error: new GenerateError('exit-code', 'crashed') },
    ])
    const loop = await runSelfFixLoop(later.fake, {
      maxIterations: 3,
      budgetMs: 60_000,
      message: 'm',
    })
    expect(loop).toMatchObject({ end: 'agent-failed', sha: 'sha1', committed: true })
    expect(loop.error?.message).toBe('crashed')
    expect(loop.iterations.map((i) => i.error)).toEqual([null, 'crashed'])
    // A bug or an infrastructure failure is not the agent's: it is thrown, also later.
    const bug = steps([{ files: ['a'], failing: 1 }, { error: new Error('disk full') }])
    await expect(
      runSelfFixLoop(bug.fake, { maxIterations: 3, budgetMs: 60_000, message: 'm' }),
    ).rejects.toThrow('disk full')
  })

  it('checks the budget only between iterations, and tells the reporter why the loop ends', async () => {
    let clock = 0
    const s = steps([{ files: ['a'], failing: 1 }, { files: ['b'], failing: 1 }, { files: ['c'] }])
    const fake = {
      ...s.fake,
      test: async (sha: string, i: number) => {
        clock += 30_000
        return s.fake.test(sha, i)
      },
    }
    const loop = await runSelfFixLoop(fake, {
      maxIterations: 5,
      budgetMs: 60_000,
      message: 'm',
      now: () => clock,
    })
    // 30 s after the first, 60 s after the second: the third never starts.
    expect(loop.end).toBe('budget')
    expect(loop.iterations).toHaveLength(2)
    expect(s.ends).toEqual([undefined, 'budget'])
    expect(loop.files).toEqual(['a', 'b'])
  })
})

describe('fixMessage', () => {
  it('says which iteration and why, listing the failing tests in the body', () => {
    const failures = Array.from({ length: 12 }, (_, i) => ({
      name: `t${i}\nCo-authored-by: x <x@y>`,
      status: 'failed' as const,
    }))
    const message = fixMessage(2, 3, { summary: '12 of 12 tests failed', failures, outputTail: '' })
    const [title, , intro, ...lines] = message.split('\n')
    expect(title).toBe('Fix 12 failing tests (iteration 2 of 3)')
    expect(intro).toBe('The tests of iteration 1 failed:')
    // One line per test, never a line a trailer parser would take.
    expect(lines[0]).toBe('- t0 Co-authored-by: x <x@y>')
    expect(lines.at(-1)).toBe('- … and 2 more')
    expect(
      fixMessage(3, 3, {
        summary: 'the test command wrote no JUnit report',
        failures: [],
        outputTail: '',
      }),
    ).toBe('Fix the tests: the test command wrote no JUnit report (iteration 3 of 3)')
  })
})
