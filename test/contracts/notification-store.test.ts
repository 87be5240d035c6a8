import { describe, expect, it } from 'vitest'
import type { NotificationStore } from '../../src/store/store.js'
import { at } from './fixtures.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

const delivery = {
  eventId: 'deploy.succeeded:acme/shop:42',
  eventType: 'deploy.succeeded',
  repo: 'acme/shop',
  destination: 'slack',
  channel: 'slack',
}

/** The NotificationStore part: one delivery per (event, destination), and disabled destinations. */
function notificationStoreContract(impl: StoreImplementation) {
  const s = useStore<NotificationStore>(impl)

  describe('deliveries', () => {
    it('claims a delivery once per (event, destination); a second claim returns the first row unchanged', async () => {
      const first = await s.store.claimNotification(delivery)
      expect(first).toEqual({
        id: first.id,
        ...delivery,
        status: 'pending',
        attempts: 0,
        lastError: null,
        createdAt: at(0),
        updatedAt: at(0),
        deliveredAt: null,
      })
      s.now += 1000
      await s.store.updateNotification(first.id, { status: 'delivered' })
      const again = await s.store.claimNotification(delivery)
      expect(again).toMatchObject({ id: first.id, status: 'delivered', attempts: 1 })
      // Another destination, or another event, is another delivery.
      const email = await s.store.claimNotification({
        ...delivery,
        destination: 'email',
        channel: 'email',
      })
      expect(email.id).not.toBe(first.id)
      expect(email.status).toBe('pending')
      const other = await s.store.claimNotification({
        ...delivery,
        eventId: 'deploy.succeeded:acme/shop:43',
      })
      expect(other.id).not.toBe(first.id)
    })

    it('records attempts, the last error and when it was delivered', async () => {
      const claimed = await s.store.claimNotification(delivery)
      s.now += 1000
      expect(
        await s.store.updateNotification(claimed.id, { status: 'retrying', error: 'HTTP 503' }),
      ).toMatchObject({
        status: 'retrying',
        attempts: 1,
        lastError: 'HTTP 503',
        updatedAt: at(1000),
      })
      s.now += 1000
      expect(await s.store.updateNotification(claimed.id, { status: 'delivered' })).toMatchObject({
        status: 'delivered',
        attempts: 2,
        lastError: null,
        deliveredAt: at(2000),
      })
      // A status written without sending (a disabled destination) is not an attempt.
      const other = await s.store.claimNotification({ ...delivery, destination: 'hook' })
      expect(
        await s.store.updateNotification(other.id, {
          status: 'disabled',
          attempted: false,
          error: 'disabled',
        }),
      ).toMatchObject({ status: 'disabled', attempts: 0, deliveredAt: null })
      expect(await s.store.updateNotification(9999, { status: 'failed' })).toBeUndefined()
    })

    it('lists deliveries newest first, filtered and limited; durable across reopening', async () => {
      await s.store.claimNotification(delivery)
      s.now += 1
      await s.store.claimNotification({ ...delivery, destination: 'email', channel: 'email' })
      s.now += 1
      await s.store.claimNotification({
        ...delivery,
        eventId: 'rollback:acme/blog:7',
        repo: 'acme/blog',
      })
      s.store = await s.handle.reopen()
      const all = await s.store.listNotifications()
      expect(all.map((d) => [d.eventId, d.destination])).toEqual([
        ['rollback:acme/blog:7', 'slack'],
        [delivery.eventId, 'email'],
        [delivery.eventId, 'slack'],
      ])
      expect((await s.store.listNotifications({ destination: 'email' })).length).toBe(1)
      expect((await s.store.listNotifications({ repo: 'acme/blog' })).length).toBe(1)
      expect((await s.store.listNotifications({ eventId: delivery.eventId })).length).toBe(2)
      expect((await s.store.listNotifications({ limit: 1 }))[0]?.eventId).toBe(
        'rollback:acme/blog:7',
      )
    })
  })

  describe('disabled destinations', () => {
    it('a destination is disabled for its settings only, until enabled again', async () => {
      expect(await s.store.disabledDestination('hook', 'fp1')).toBeUndefined()
      await s.store.disableDestination('hook', 'fp1', 'the receiver answered 410 Gone')
      expect(await s.store.disabledDestination('hook', 'fp1')).toEqual({
        name: 'hook',
        fingerprint: 'fp1',
        disabledAt: at(0),
        reason: 'the receiver answered 410 Gone',
      })
      // New settings (another URL or secret) are a destination the receiver never refused.
      expect(await s.store.disabledDestination('hook', 'fp2')).toBeUndefined()
      s.store = await s.handle.reopen()
      expect(await s.store.disabledDestination('hook', 'fp1')).toBeDefined()
      await s.store.enableDestination('hook')
      expect(await s.store.disabledDestination('hook', 'fp1')).toBeUndefined()
    })
  })
}

describe.each(storeImplementations)('NotificationStore: $name', notificationStoreContract)
