import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AuditStore } from '../../src/store/store.js'
import { at, start } from './fixtures.js'
import {
  type StoreHandle,
  type StoreImplementation,
  storeImplementations,
} from './implementations.js'

/** The AuditStore part: the append-only audit log. */
function auditStoreContract(impl: StoreImplementation) {
  let h: StoreHandle
  let store: AuditStore
  let t: number
  beforeEach(async () => {
    t = start
    h = await impl.open(() => t)
    store = h.store
  })
  afterEach(async () => {
    await h.close()
  })

  describe('audit', () => {
    it('records free-form audit events in order, all or by subject', async () => {
      await store.audit({
        actor: 'api:admin',
        action: 'deploy.requested',
        subject: 'env:prod',
        details: { ref: 'main' },
      })
      t += 1
      await store.audit({ actor: 'alice', action: 'rollback', subject: 'env:stage', details: {} })
      expect((await store.listAudit()).map((e) => e.action)).toEqual([
        'deploy.requested',
        'rollback',
      ])
      expect(await store.listAudit('env:prod')).toEqual([
        {
          at: at(0),
          actor: 'api:admin',
          action: 'deploy.requested',
          subject: 'env:prod',
          details: { ref: 'main' },
        },
      ])
    })
  })
}

describe.each(storeImplementations)('AuditStore: $name', auditStoreContract)
