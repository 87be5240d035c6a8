import { describe, expect, it } from 'vitest'
import type { AuditStore } from '../../src/store/store.js'
import { at, newTask } from './fixtures.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

/** The AuditStore part: the append-only audit log. */
function auditStoreContract(impl: StoreImplementation) {
  const s = useStore<AuditStore>(impl)

  describe('audit', () => {
    it('records free-form audit events in order, all or by subject', async () => {
      await s.store.audit({
        actor: 'api:admin',
        action: 'deploy.requested',
        subject: 'env:prod',
        details: { ref: 'main' },
      })
      s.now += 1
      await s.store.audit({ actor: 'alice', action: 'rollback', subject: 'env:stage', details: {} })
      expect((await s.store.listAudit()).map((e) => e.action)).toEqual([
        'deploy.requested',
        'rollback',
      ])
      expect(await s.store.listAudit('env:prod')).toEqual([
        {
          id: expect.any(Number),
          at: at(0),
          actor: 'api:admin',
          action: 'deploy.requested',
          subject: 'env:prod',
          details: { ref: 'main' },
          // A writer that gives only the old four fields gets the defaults.
          via: 'system',
          target: { repo: null, task: null, environment: null, release: null },
          before: null,
          after: null,
          requestId: null,
          sourceIp: null,
          result: null,
        },
      ])
    })

    it('keeps the whole record: via, target, before/after, request id, source IP, result', async () => {
      await s.store.audit({
        actor: 'token:ci',
        via: 'api',
        action: 'deploy.requested',
        subject: 'task:acme/shop#shop-api',
        target: { repo: 'acme/shop', task: 'shop-api', environment: 'staging', release: 'r-1' },
        before: { release: 'r-0' },
        after: { release: 'r-1', list: [1, 2] },
        requestId: 'req-1',
        sourceIp: '192.0.2.7',
        result: 'accepted',
        details: { job: '42' },
      })
      const [event] = await s.store.listAudit()
      expect(event).toEqual({
        id: expect.any(Number),
        at: at(0),
        actor: 'token:ci',
        via: 'api',
        action: 'deploy.requested',
        subject: 'task:acme/shop#shop-api',
        target: { repo: 'acme/shop', task: 'shop-api', environment: 'staging', release: 'r-1' },
        before: { release: 'r-0' },
        after: { release: 'r-1', list: [1, 2] },
        requestId: 'req-1',
        sourceIp: '192.0.2.7',
        result: 'accepted',
        details: { job: '42' },
      })
    })

    it('writes task changes with their repository and task as the target', async () => {
      await s.handle.store.saveTask(newTask())
      const [created] = await s.store.queryAudit({ repo: 'acme/shop' })
      expect(created).toMatchObject({
        action: 'task.created',
        actor: 'alice',
        target: { repo: 'acme/shop', task: 'shop-api', environment: null, release: null },
      })
    })

    it('queries newest first by repository, actor, action (or prefix), time, page and limit', async () => {
      const write = async (actor: string, action: string, repo: string | null) => {
        await s.store.audit({ actor, action, subject: 's', target: { repo }, details: {} })
        s.now += 1000
      }
      await write('alice', 'deploy.requested', 'acme/shop')
      await write('bob', 'rollback.requested', 'acme/shop')
      await write('alice', 'deploy.requested', 'acme/blog')
      await write('alice', 'deploy_requested', 'acme/shop')
      await write('carol', 'token.created', null)
      const actions = (events: { action: string; actor: string }[]) =>
        events.map((e) => `${e.actor}:${e.action}`)
      expect(actions(await s.store.queryAudit({}))).toEqual([
        'carol:token.created',
        'alice:deploy_requested',
        'alice:deploy.requested',
        'bob:rollback.requested',
        'alice:deploy.requested',
      ])
      expect(actions(await s.store.queryAudit({ repo: 'acme/shop', actor: 'alice' }))).toEqual([
        'alice:deploy_requested',
        'alice:deploy.requested',
      ])
      // `_` and `%` are no wildcards: only a trailing `*` is.
      expect(actions(await s.store.queryAudit({ action: 'deploy.*' }))).toEqual([
        'alice:deploy.requested',
        'alice:deploy.requested',
      ])
      expect(actions(await s.store.queryAudit({ action: 'deploy.requested', limit: 1 }))).toEqual([
        'alice:deploy.requested',
      ])
      expect(actions(await s.store.queryAudit({ since: at(3000) }))).toEqual([
        'carol:token.created',
        'alice:deploy_requested',
      ])
      const [newest] = await s.store.queryAudit({ limit: 1 })
      const page = await s.store.queryAudit({ beforeId: newest?.id ?? 0, limit: 2 })
      expect(actions(page)).toEqual(['alice:deploy_requested', 'alice:deploy.requested'])
    })

    it('is append-only in the database itself: UPDATE and DELETE are refused', async () => {
      await s.store.audit({ actor: 'alice', action: 'deploy', subject: 'env:prod', details: {} })
      await expect(s.handle.sql("UPDATE audit SET actor = 'mallory'")).rejects.toThrow(
        /append-only/,
      )
      await expect(s.handle.sql('DELETE FROM audit')).rejects.toThrow(/append-only/)
      expect((await s.store.listAudit()).map((e) => e.actor)).toEqual(['alice'])
    })
  })
}

describe.each(storeImplementations)('AuditStore: $name', auditStoreContract)
