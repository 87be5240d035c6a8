import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { TaskStore, TestRunStore } from '../../src/store/store.js'
import { at, newTask, start } from './fixtures.js'
import {
  type StoreHandle,
  type StoreImplementation,
  storeImplementations,
} from './implementations.js'

/** The TestRunStore part: each run of a task's tests. */
function testRunStoreContract(impl: StoreImplementation) {
  let h: StoreHandle
  let store: TestRunStore & TaskStore
  let t: number
  beforeEach(async () => {
    t = start
    h = await impl.open(() => t)
    store = h.store
  })
  afterEach(async () => {
    await h.close()
  })

  describe('test runs', () => {
    it('records a run from queued to completed, keeping what each step wrote, newest first', async () => {
      await store.saveTask(newTask())
      const run = await store.startTestRun({
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
      await store.updateTestRun(run.id, { state: 'in_progress', checkRunId: 42, runner: 'local' })
      t += 2000
      const done = await store.updateTestRun(run.id, {
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
      const second = await store.startTestRun({
        task: { repo: 'acme/shop', id: 'shop-api' },
        headSha: 'b'.repeat(40),
        checkRunId: 43,
      })
      expect((await store.latestTestRun({ repo: 'acme/shop', id: 'shop-api' }))?.id).toBe(second.id)
      expect(await store.latestTestRun({ repo: 'acme/shop', id: 'other' })).toBeUndefined()
      expect((await store.getTestRun(run.id))?.conclusion).toBe('failure')
    })
  })
}

describe.each(storeImplementations)('TestRunStore: $name', testRunStoreContract)
