import { describe, expect, it } from 'vitest'
import { DeployLockLostError, withDeployLock } from '../../src/deploy/with-deploy-lock.js'
import type { LockStore } from '../../src/store/store.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

/** The LockStore part: one deploy at a time per environment (and withDeployLock over it). */
function lockStoreContract(impl: StoreImplementation) {
  const s = useStore<LockStore>(impl, Date.parse('2026-01-01T00:00:00Z'))

  describe('deploy locks', () => {
    it('a second acquire is told who holds the lock, with reason and expiry', async () => {
      expect(
        await s.store.acquireDeployLock('production', 'job:1', '/deploy by octocat', 60_000),
      ).toEqual({
        acquired: true,
      })
      expect(await s.store.acquireDeployLock('production', 'job:2', 'merge of #7', 60_000)).toEqual(
        {
          acquired: false,
          holder: {
            owner: 'job:1',
            reason: '/deploy by octocat',
            acquiredAt: '2026-01-01T00:00:00.000Z',
            expiresAt: '2026-01-01T00:01:00.000Z',
          },
        },
      )
      // Environments are independent.
      expect(await s.store.acquireDeployLock('staging', 'job:2', 'x', 60_000)).toEqual({
        acquired: true,
      })
    })

    it('an expired lock is taken over, and its old owner can neither renew nor release it', async () => {
      await s.store.acquireDeployLock('production', 'job:1', 'first', 60_000)
      s.now += 30_000
      expect(await s.store.renewDeployLock('production', 'job:1', 60_000)).toBe(true)
      s.now += 61_000
      expect(await s.store.acquireDeployLock('production', 'job:2', 'second', 60_000)).toEqual({
        acquired: true,
      })
      expect(await s.store.renewDeployLock('production', 'job:1', 60_000)).toBe(false)
      expect(await s.store.releaseDeployLock('production', 'job:1')).toBe(false)
      const held = await s.store.acquireDeployLock('production', 'job:3', 'third', 60_000)
      expect(held).toMatchObject({ acquired: false, holder: { owner: 'job:2', reason: 'second' } })
    })

    it('its owner takes it again (a retried job after a crash), with a fresh expiry', async () => {
      await s.store.acquireDeployLock('production', 'job:1', 'merge of #7', 60_000)
      s.now += 30_000
      expect(
        await s.store.acquireDeployLock('production', 'job:1', 'merge of #7 (retry)', 60_000),
      ).toEqual({
        acquired: true,
      })
      const refused = await s.store.acquireDeployLock('production', 'job:2', 'x', 60_000)
      expect(refused).toMatchObject({
        acquired: false,
        holder: {
          owner: 'job:1',
          reason: 'merge of #7 (retry)',
          expiresAt: '2026-01-01T00:01:30.000Z',
        },
      })
    })

    it('only the owner releases; after that anyone can acquire', async () => {
      await s.store.acquireDeployLock('production', 'job:1', 'first', 60_000)
      expect(await s.store.releaseDeployLock('production', 'job:2')).toBe(false)
      expect(await s.store.releaseDeployLock('production', 'job:1')).toBe(true)
      expect(await s.store.releaseDeployLock('production', 'job:1')).toBe(false)
      expect(await s.store.acquireDeployLock('production', 'job:2', 'x', 1000)).toEqual({
        acquired: true,
      })
    })

    it('lists every lock row by environment, with holder, reason and expiry (expired ones too)', async () => {
      expect(await s.store.listDeployLocks()).toEqual([])
      await s.store.acquireDeployLock('o/r:staging', 'job:2', 'merge of #3', 1000)
      await s.store.acquireDeployLock('o/r:production', 'job:1', '/deploy by octocat', 60_000)
      s.now += 2000
      expect(await s.store.listDeployLocks()).toEqual([
        {
          env: 'o/r:production',
          owner: 'job:1',
          reason: '/deploy by octocat',
          acquiredAt: '2026-01-01T00:00:00.000Z',
          expiresAt: '2026-01-01T00:01:00.000Z',
        },
        {
          env: 'o/r:staging',
          owner: 'job:2',
          reason: 'merge of #3',
          acquiredAt: '2026-01-01T00:00:00.000Z',
          expiresAt: '2026-01-01T00:00:01.000Z',
        },
      ])
      await s.store.releaseDeployLock('o/r:production', 'job:1')
      expect((await s.store.listDeployLocks()).map((l) => l.env)).toEqual(['o/r:staging'])
    })

    it('survives reopening the store (it is durable)', async () => {
      await s.store.acquireDeployLock('production', 'job:1', 'first', 60_000)
      s.store = await s.handle.reopen()
      expect(await s.store.acquireDeployLock('production', 'job:2', 'x', 1000)).toMatchObject({
        acquired: false,
        holder: { owner: 'job:1' },
      })
    })
  })

  describe('withDeployLock', () => {
    const free = async () =>
      (await s.store.acquireDeployLock('production', 'probe', 'probe', 1000)).acquired &&
      (await s.store.releaseDeployLock('production', 'probe'))

    it('runs fn under the lock and releases it after success', async () => {
      const result = await withDeployLock(s.store, 'production', 'job:1', 'deploy', async () => {
        expect(await s.store.acquireDeployLock('production', 'job:2', 'x', 1000)).toMatchObject({
          acquired: false,
          holder: { owner: 'job:1', reason: 'deploy' },
        })
        return 42
      })
      expect(result).toEqual({ kind: 'done', value: 42 })
      expect(await free()).toBe(true)
    })

    it('does not run fn when the lock is held, and names the holder', async () => {
      await s.store.acquireDeployLock('production', 'job:1', 'merge of #3', 60_000)
      let ran = false
      const result = await withDeployLock(s.store, 'production', 'job:2', 'x', async () => {
        ran = true
      })
      expect(ran).toBe(false)
      expect(result).toMatchObject({
        kind: 'locked',
        holder: { owner: 'job:1', reason: 'merge of #3' },
      })
    })

    it('releases the lock when fn throws', async () => {
      await expect(
        withDeployLock(s.store, 'production', 'job:1', 'deploy', async () => {
          throw new Error('upload failed')
        }),
      ).rejects.toThrow('upload failed')
      expect(await free()).toBe(true)
    })

    it('releases the lock when aborted, and fn sees the abort', async () => {
      const controller = new AbortController()
      const pending = withDeployLock(
        s.store,
        'production',
        'job:1',
        'deploy',
        (signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason), { once: true })
          }),
        { signal: controller.signal },
      )
      setTimeout(() => controller.abort(new Error('shutting down')), 20)
      await expect(pending).rejects.toThrow('shutting down')
      expect(await free()).toBe(true)
    })

    it('renews while fn runs, and aborts fn if the lock is lost', async () => {
      const result = await withDeployLock(
        s.store,
        'production',
        'job:1',
        'deploy',
        async () => {
          // 100 s pass in two steps with renewals in between: without them the 60 s lock expires.
          for (const step of [50_000, 50_000]) {
            s.now += step
            await new Promise((r) => setTimeout(r, 60))
          }
          return s.store.acquireDeployLock('production', 'job:2', 'x', 1000)
        },
        { ttlMs: 60_000, renewEveryMs: 10 },
      )
      expect(result).toMatchObject({
        kind: 'done',
        value: {
          acquired: false,
          holder: { owner: 'job:1', expiresAt: '2026-01-01T00:02:40.000Z' },
        },
      })
      expect(await free()).toBe(true)

      const lost = await withDeployLock(
        s.store,
        'production',
        'job:1',
        'deploy',
        (signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason), { once: true })
            // Another deploy takes the lock over after it expired.
            s.now += 120_000
            void s.store.acquireDeployLock('production', 'job:2', 'takeover', 60_000)
          }),
        { ttlMs: 60_000, renewEveryMs: 10 },
      ).catch((e: unknown) => e)
      expect(lost).toBeInstanceOf(DeployLockLostError)
      // job:1 must not free job:2's lock on the way out.
      expect(await s.store.acquireDeployLock('production', 'job:3', 'x', 1000)).toMatchObject({
        holder: { owner: 'job:2' },
      })
    })
  })
}

describe.each(storeImplementations)('LockStore: $name', lockStoreContract)
