import { describe, expect, it } from 'vitest'
import type { TaskStore, TestRunStore } from '../../src/store/store.js'
import { at, newTask } from './fixtures.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

/** The TestRunStore part: each run of a task's tests. */
function testRunStoreContract(impl: StoreImplementation) {
  const s = useStore<TestRunStore & TaskStore>(impl)

  describe('test runs', () => {
    it('records a run from queued to completed, keeping what each step wrote, newest first', async () => {
      await s.store.saveTask(newTask())
      const run = await s.store.startTestRun({
        task: { repo: 'acme/shop', id: 'shop-api' },
        headSha: 'a'.repeat(40),
        checkRunId: null,
      })
      expect(run).toMatchObject({
        state: 'queued',
        checkRunId: null,
        conclusion: null,
        report: null,
        completedAt: null,
      })
      await s.store.updateTestRun(run.id, { state: 'in_progress', checkRunId: 42, runner: 'local' })
      s.now += 2000
      const done = await s.store.updateTestRun(run.id, {
        state: 'completed',
        conclusion: 'failure',
        summary: { tests: 3, failed: 1 },
        report: { cases: [{ name: 'a', status: 'failed' }] },
      })
      expect(done).toMatchObject({
        state: 'completed',
        checkRunId: 42,
        runner: 'local',
        conclusion: 'failure',
        summary: { tests: 3, failed: 1 },
        report: { cases: [{ name: 'a', status: 'failed' }] },
        completedAt: at(2000),
      })
      const second = await s.store.startTestRun({
        task: { repo: 'acme/shop', id: 'shop-api' },
        headSha: 'b'.repeat(40),
        checkRunId: 43,
      })
      expect((await s.store.latestTestRun({ repo: 'acme/shop', id: 'shop-api' }))?.id).toBe(
        second.id,
      )
      expect(await s.store.latestTestRun({ repo: 'acme/shop', id: 'other' })).toBeUndefined()
      expect((await s.store.getTestRun(run.id))?.conclusion).toBe('failure')
    })
  })
}

describe.each(storeImplementations)('TestRunStore: $name', testRunStoreContract)
