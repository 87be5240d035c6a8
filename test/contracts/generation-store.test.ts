import { describe, expect, it } from 'vitest'
import type { GenerationIteration, GenerationStore } from '../../src/store/store.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

function iteration(n: number, change: Partial<GenerationIteration> = {}): GenerationIteration {
  return {
    iteration: n,
    headSha: `${n}`.repeat(40),
    committed: true,
    files: ['a.txt'],
    testRunId: null,
    tests: null,
    activity: null,
    error: null,
    durationMs: 1000 * n,
    ...change,
  }
}

const generation = (repo: string) => ({
  task: { repo, id: 'greet' },
  generator: 'agent:codex',
  reason: 'intake',
  maxIterations: 3,
  budgetSeconds: 600,
})

/** The GenerationStore part: the self-fix loop's iterations. */
function generationStoreContract(impl: StoreImplementation) {
  const s = useStore<GenerationStore>(impl)

  describe('generations', () => {
    it('keeps iterations (a rewrite replaces one), their activity, and sums the tokens of those that report any', async () => {
      const g = await s.store.startGeneration(generation('octo/a'))
      expect(g).toMatchObject({ state: 'running', iterations: [], usage: null, finishedAt: null })
      await s.store.saveIteration(g.id, iteration(1, { testRunId: 7 }))
      const activity = {
        agent: 'codex',
        model: 'gpt-5',
        toolCalls: [{ tool: 'exec_command', summary: 'ls' }],
        usage: { inputTokens: 100, outputTokens: 20, cachedInputTokens: 50 },
        durationMs: 900,
      }
      await s.store.saveIteration(
        g.id,
        iteration(1, {
          testRunId: 7,
          activity,
          tests: { conclusion: 'failure', title: '1 of 2 tests failed', counts: { failed: 1 } },
        }),
      )
      await s.store.saveIteration(
        g.id,
        iteration(2, { activity: { ...activity, usage: { inputTokens: 5, outputTokens: 1 } } }),
      )
      await s.store.saveIteration(
        g.id,
        iteration(3, { committed: false, headSha: null, error: 'timed out' }),
      )
      const done = await s.store.finishGeneration(g.id, {
        state: 'stopped',
        stopReason: 'agent-failed',
        headSha: '2'.repeat(40),
      })
      expect(done).toMatchObject({ state: 'stopped', stopReason: 'agent-failed' })
      expect(done?.finishedAt).not.toBeNull()
      expect(done?.usage).toEqual({ inputTokens: 105, outputTokens: 21, cachedInputTokens: 50 })
      expect(done?.iterations).toEqual([
        iteration(1, {
          testRunId: 7,
          activity,
          tests: { conclusion: 'failure', title: '1 of 2 tests failed', counts: { failed: 1 } },
        }),
        iteration(2, { activity: { ...activity, usage: { inputTokens: 5, outputTokens: 1 } } }),
        iteration(3, { committed: false, headSha: null, error: 'timed out' }),
      ])
    })

    it("lists a task's generations newest first, never another repository's", async () => {
      const first = await s.store.startGeneration(generation('octo/a'))
      const second = await s.store.startGeneration(generation('octo/a'))
      await s.store.startGeneration(generation('octo/b'))
      const listed = await s.store.listGenerations({ repo: 'octo/a', id: 'greet' })
      expect(listed.map((g) => g.id)).toEqual([second.id, first.id])
      expect(await s.store.listGenerations({ repo: 'octo/a', id: 'greet' }, 1)).toHaveLength(1)
      expect(await s.store.listGenerations({ repo: null, id: 'greet' })).toEqual([])
    })
  })
}

describe.each(storeImplementations)('GenerationStore: $name', generationStoreContract)
