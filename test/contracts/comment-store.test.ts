import { describe, expect, it } from 'vitest'
import type { CommentStore } from '../../src/store/store.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

/** The CommentStore part: command comments claimed by one job, sticky comment ids. */
function commentStoreContract(impl: StoreImplementation) {
  const s = useStore<CommentStore>(impl)

  describe('handled comments', () => {
    it('lets the first job claim a comment id, again on its retries, and no other job', async () => {
      expect(await s.store.claimComment('acme/shop', 501, '7')).toBe(true)
      expect(await s.store.claimComment('acme/shop', 501, '7')).toBe(true)
      expect(await s.store.claimComment('acme/shop', 501, '8')).toBe(false)
      expect(await s.store.claimComment('acme/shop', 502, '8')).toBe(true)
    })

    it('takes job ids as opaque strings, numeric or not', async () => {
      const id = '3f6c2a9e-5b1d-4e8f-9a7c-0d2e4b6f8a1c'
      expect(await s.store.claimComment('acme/shop', 601, id)).toBe(true)
      expect(await s.store.claimComment('acme/shop', 601, id)).toBe(true)
      expect(await s.store.claimComment('acme/shop', 601, '12')).toBe(false)
      expect(await s.store.claimComment('acme/shop', 602, '12')).toBe(true)
      expect(await s.store.claimComment('acme/shop', 602, '012')).toBe(false)
    })
  })

  describe('sticky comments', () => {
    it('keeps one comment id per repo, issue and kind, replaced in place', async () => {
      expect(await s.store.getCommentId('acme/shop', 12, 'validation')).toBeUndefined()
      await s.store.setCommentId('acme/shop', 12, 'validation', 1001)
      await s.store.setCommentId('acme/shop', 12, 'status', 1002)
      await s.store.setCommentId('acme/shop', 12, 'validation', 1003)
      expect(await s.store.getCommentId('acme/shop', 12, 'validation')).toBe(1003)
      expect(await s.store.getCommentId('acme/shop', 12, 'status')).toBe(1002)
      expect(await s.store.getCommentId('acme/shop', 13, 'validation')).toBeUndefined()
    })
  })
}

describe.each(storeImplementations)('CommentStore: $name', commentStoreContract)
