import { describe, expect, it } from 'vitest'
import type { DeploymentStore } from '../../src/store/store.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

const merge = {
  repo: 'octo/blog',
  environment: 'production',
  taskId: 'blog',
  trigger: 'merge',
  actor: 'mona',
  commitSha: 'a'.repeat(40),
  ref: 'main',
} as const

/** The DeploymentStore part: the deploy history of every environment. */
function deploymentStoreContract(impl: StoreImplementation) {
  const s = useStore<DeploymentStore>(impl, Date.parse('2026-01-01T00:00:00Z'))

  describe('deployments (deploy history)', () => {
    it('records a deploy in progress, then each step, and stamps finishedAt when it ends', async () => {
      const started = await s.store.createDeployment({ ...merge, jobId: '12' })
      expect(started).toMatchObject({
        state: 'in_progress',
        bad: false,
        releaseId: null,
        verification: null,
        revert: null,
        jobId: '12',
        createdAt: '2026-01-01T00:00:00.000Z',
        finishedAt: null,
      })
      s.now += 1000
      await s.store.updateDeployment(started.id, {
        githubDeploymentId: 501,
        releaseId: 'b'.repeat(40),
      })
      s.now += 1000
      const done = await s.store.updateDeployment(started.id, {
        state: 'failure',
        bad: true,
        verification: { ok: false, checks: [{ id: 'home', ok: false }] },
        error: 'acceptance checks failed',
      })
      expect(done).toMatchObject({
        state: 'failure',
        bad: true,
        githubDeploymentId: 501,
        releaseId: 'b'.repeat(40),
        verification: { ok: false, checks: [{ id: 'home', ok: false }] },
        error: 'acceptance checks failed',
        finishedAt: '2026-01-01T00:00:02.000Z',
      })
      // A later write (the revert's outcome) keeps what was there, and the first finish time.
      s.now += 5000
      const reverted = await s.store.updateDeployment(started.id, { revert: { kind: 'pushed' } })
      expect(reverted).toMatchObject({
        state: 'failure',
        revert: { kind: 'pushed' },
        finishedAt: '2026-01-01T00:00:02.000Z',
      })
      expect(await s.store.updateDeployment(999, { state: 'success' })).toBeUndefined()
    })

    it('lists newest first, filtered by repo, environment, task, state and job', async () => {
      const a = await s.store.createDeployment({ ...merge, jobId: '1' })
      const b = await s.store.createDeployment({ ...merge, environment: 'staging', jobId: '2' })
      const c = await s.store.createDeployment({ ...merge, taskId: 'other', state: 'success' })
      const d = await s.store.createDeployment({
        ...merge,
        repo: 'octo/site',
        rollbackOf: a.id,
        trigger: 'rollback',
        state: 'success',
      })
      const ids = (list: { id: number }[]) => list.map((x) => x.id)
      expect(ids(await s.store.listDeployments())).toEqual([d.id, c.id, b.id, a.id])
      expect(
        ids(await s.store.listDeployments({ repo: 'octo/blog', environment: 'production' })),
      ).toEqual([c.id, a.id])
      expect(ids(await s.store.listDeployments({ taskId: 'blog', state: 'in_progress' }))).toEqual([
        b.id,
        a.id,
      ])
      expect(ids(await s.store.listDeployments({ jobId: '2' }))).toEqual([b.id])
      expect(ids(await s.store.listDeployments({ limit: 1 }))).toEqual([d.id])
      expect(d).toMatchObject({ rollbackOf: a.id, finishedAt: '2026-01-01T00:00:00.000Z' })
    })

    it('counts the history per repository, environment, trigger and state', async () => {
      expect(await s.store.countDeployments()).toEqual([])
      const first = await s.store.createDeployment(merge)
      await s.store.updateDeployment(first.id, { state: 'rolled_back' })
      await s.store.createDeployment({ ...merge, state: 'success' })
      await s.store.createDeployment({ ...merge, state: 'success' })
      await s.store.createDeployment({ ...merge, environment: 'staging', state: 'failure' })
      await s.store.createDeployment({
        ...merge,
        rollbackOf: first.id,
        trigger: 'rollback',
        state: 'success',
      })
      const production = { repo: 'octo/blog', environment: 'production' }
      expect(await s.store.countDeployments()).toEqual([
        { ...production, trigger: 'merge', state: 'rolled_back', count: 1 },
        { ...production, trigger: 'merge', state: 'success', count: 2 },
        { ...production, trigger: 'rollback', state: 'success', count: 1 },
        { repo: 'octo/blog', environment: 'staging', trigger: 'merge', state: 'failure', count: 1 },
      ])
    })

    it('refuses a trigger or state the history does not know', async () => {
      // The message is the implementation's (SQLite: test/store/sqlite-deployments.test.ts).
      await expect(
        s.store.createDeployment({ ...merge, trigger: 'cron' as 'merge' }),
      ).rejects.toThrow()
      expect(await s.store.listDeployments()).toEqual([])
    })
  })
}

describe.each(storeImplementations)('DeploymentStore: $name', deploymentStoreContract)
