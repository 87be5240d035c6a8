/**
 * The three channels against real receivers on loopback: webhooks verified with the Standard
 * Webhooks reference implementation, Slack's blocks and pace, email through a real SMTP server
 * process; deliveries recorded in a real SQLite store; the SSRF guard refusing what the
 * allow-list does not name.
 */
import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Destination } from '../../src/config/notify-destinations.js'
import { type Channels, createChannels } from '../../src/notify/channels.js'
import { deliverEvent, sendTestEvent } from '../../src/notify/deliver-event.js'
import { notificationEvent } from '../../src/notify/events.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { EMPTY_ALLOW_LIST, parseAllowedHosts } from '../../src/verify/parse-allowed-hosts.js'
import { silentLog, tempDir } from '../store/support.js'
import { type HttpReceiver, startHttpReceiver, startSmtpReceiver } from './receivers.js'

/** A secret as Standard Webhooks libraries make them: whsec_ + base64 of 32 random bytes. */
const SECRET = `whsec_${Buffer.from('devsys-notify-test-secret-32-byt').toString('base64')}`
const LOOPBACK = (() => {
  const parsed = parseAllowedHosts('127.0.0.1')
  if (!parsed.ok) throw new Error('bad allow-list')
  return parsed.list
})()

const deployed = notificationEvent(
  'deploy.succeeded',
  { repo: 'acme/shop', installationId: 7, environment: 'production', task: 'shop-api' },
  'deployment-42',
  {
    title: 'shop-api deployed to production',
    url: 'https://shop.example.com/',
    details: { commit: '0123abc', release: 'a1b2c3d4' },
  },
)

let tmp: ReturnType<typeof tempDir>
let store: Store
let channels: Channels
let receivers: HttpReceiver[]
beforeEach(() => {
  tmp = tempDir('devsys-notify-')
  store = openSqliteStore({ dataDir: tmp.dir })
  receivers = []
})
afterEach(async () => {
  channels?.close()
  for (const r of receivers) await r.close()
  await store.close()
  tmp.remove()
})

async function receiver(answer?: Parameters<typeof startHttpReceiver>[0]) {
  const r = await startHttpReceiver(answer)
  receivers.push(r)
  return r
}

function deliver(destination: Destination, event = deployed, last = false) {
  return deliverEvent({ store, channels, log: silentLog }, event, [destination], { last })
}

describe('webhook channel', () => {
  it('signs per Standard Webhooks: the reference implementation verifies the message', async () => {
    const hook = await receiver()
    channels = createChannels({ reach: { allowed: LOOPBACK } })
    const summary = await deliver({
      name: 'webhook',
      channel: 'webhook',
      url: hook.url,
      secret: SECRET,
    })
    expect(summary.delivered).toEqual(['webhook'])
    expect(hook.received).toHaveLength(1)
    const [message] = hook.received
    const headers = message?.headers as Record<string, string>
    expect(headers['webhook-id']).toMatch(/^msg_/)
    expect(headers['webhook-signature']).toMatch(/^v1,/)
    // The spec's reference implementation, not DevSys's code, checks the signature and time.
    const verified = new Webhook(SECRET).verify(message?.body ?? '', headers)
    expect(verified).toEqual({
      type: 'deploy.succeeded',
      timestamp: deployed.occurredAt,
      data: {
        id: 'deploy.succeeded:acme/shop:deployment-42',
        repo: 'acme/shop',
        environment: 'production',
        task: 'shop-api',
        title: 'shop-api deployed to production',
        url: 'https://shop.example.com/',
        details: { commit: '0123abc', release: 'a1b2c3d4' },
      },
    })
    // Another secret does not verify it.
    const other = `whsec_${Buffer.from('another-secret-of-thirty-two-byt').toString('base64')}`
    expect(() => new Webhook(other).verify(message?.body ?? '', headers)).toThrow()
    expect((await store.listNotifications())[0]).toMatchObject({
      eventId: deployed.id,
      destination: 'webhook',
      status: 'delivered',
      attempts: 1,
    })
  })

  it('a 5xx is tried again, then delivered once; the same webhook-id on every attempt', async () => {
    const hook = await receiver((n) => ({ status: n === 0 ? 503 : 200 }))
    channels = createChannels({ reach: { allowed: LOOPBACK } })
    const destination: Destination = {
      name: 'webhook',
      channel: 'webhook',
      url: hook.url,
      secret: SECRET,
    }
    expect((await deliver(destination)).retrying).toEqual(['webhook'])
    expect((await store.listNotifications())[0]).toMatchObject({
      status: 'retrying',
      attempts: 1,
      lastError: 'the receiver answered 503',
    })
    expect((await deliver(destination)).delivered).toEqual(['webhook'])
    // Settled: a third run (a redelivered job) sends nothing.
    expect((await deliver(destination)).delivered).toEqual(['webhook'])
    expect(hook.received).toHaveLength(2)
    expect(hook.received[0]?.headers['webhook-id']).toBe(hook.received[1]?.headers['webhook-id'])
    expect((await store.listNotifications())[0]).toMatchObject({ status: 'delivered', attempts: 2 })
  })

  it('a failure on the last attempt is final', async () => {
    const hook = await receiver(() => ({ status: 500 }))
    channels = createChannels({ reach: { allowed: LOOPBACK } })
    const destination: Destination = {
      name: 'webhook',
      channel: 'webhook',
      url: hook.url,
      secret: SECRET,
    }
    expect((await deliver(destination, deployed, true)).failed).toEqual(['webhook'])
    expect((await deliver(destination)).failed).toEqual(['webhook'])
    expect(hook.received).toHaveLength(1)
  })

  it('a 410 disables the destination (recorded); a test it accepts enables it again', async () => {
    let gone = true
    const hook = await receiver(() => ({ status: gone ? 410 : 204 }))
    channels = createChannels({ reach: { allowed: LOOPBACK } })
    const destination: Destination = {
      name: 'webhook',
      channel: 'webhook',
      url: hook.url,
      secret: SECRET,
    }
    expect((await deliver(destination)).disabled).toEqual(['webhook'])
    const next = { ...deployed, id: 'deploy.succeeded:acme/shop:deployment-43' }
    expect((await deliver(destination, next)).disabled).toEqual(['webhook'])
    expect(hook.received).toHaveLength(1)
    const log = await store.listNotifications()
    expect(log.map((d) => [d.eventId, d.status, d.attempts])).toEqual([
      [next.id, 'disabled', 0],
      [deployed.id, 'disabled', 1],
    ])
    expect(log[0]?.lastError).toMatch(/disabled at .*410 Gone/)
    gone = false
    const test = { ...deployed, id: 'test:1', type: 'test' as const, repo: null }
    expect(await sendTestEvent({ store, channels, log: silentLog }, test, [destination])).toEqual([
      {
        destination: 'webhook',
        channel: 'webhook',
        status: 'delivered',
        error: null,
        enabled: true,
      },
    ])
    const third = { ...deployed, id: 'deploy.succeeded:acme/shop:deployment-44' }
    expect((await deliver(destination, third)).delivered).toEqual(['webhook'])
  })
})

describe('the SSRF guard', () => {
  it.each([
    ['loopback', '127.0.0.1', /loopback/],
    ['a private network', '10.0.0.7', /private network/],
    ['a metadata service', '169.254.169.254', /link-local/],
  ])('refuses %s unless NOTIFY_ALLOWED_HOSTS names it; nothing is sent', async (_, host, why) => {
    const hook = await receiver()
    channels = createChannels({ reach: { allowed: EMPTY_ALLOW_LIST } })
    const port = new URL(hook.url).port
    const url = `http://${host}:${port}/hook`
    const summary = await deliver({ name: 'webhook', channel: 'webhook', url, secret: SECRET })
    expect(summary.failed).toEqual(['webhook'])
    const [row] = await store.listNotifications()
    expect(row?.lastError).toMatch(why)
    expect(row?.lastError).toMatch(/NOTIFY_ALLOWED_HOSTS/)
    expect(hook.received).toHaveLength(0)
  })

  it('a name resolving to a private address is refused too', async () => {
    channels = createChannels({
      reach: {
        allowed: EMPTY_ALLOW_LIST,
        resolve: async () => [{ address: '192.168.1.5', family: 4 }],
      },
    })
    const slack = { name: 'slack', channel: 'slack' as const, url: 'https://hooks.example.com/x' }
    expect((await deliver(slack)).failed).toEqual(['slack'])
    expect((await store.listNotifications())[0]?.lastError).toMatch(/192\.168\.1\.5.*private/)
  })
})

describe('slack channel', () => {
  it('posts Block Kit blocks with a text fallback', async () => {
    const hook = await receiver(() => ({ status: 200, body: 'ok' }))
    channels = createChannels({ reach: { allowed: LOOPBACK } })
    expect((await deliver({ name: 'slack', channel: 'slack', url: hook.url })).delivered).toEqual([
      'slack',
    ])
    const body = JSON.parse(hook.received[0]?.body ?? '{}')
    expect(body.text).toBe('shop-api deployed to production https://shop.example.com/')
    expect(body.blocks[0]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '*:rocket: shop-api deployed to production*' },
    })
    expect(body.blocks[1].fields).toContainEqual({
      type: 'mrkdwn',
      text: '*Environment*\nproduction',
    })
    expect(body.blocks[2]).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open' },
          url: 'https://shop.example.com/',
        },
      ],
    })
  })

  it('sends at most one message per interval to a destination, in order', async () => {
    const hook = await receiver(() => ({ status: 200, body: 'ok' }))
    const intervalMs = 250
    channels = createChannels({ reach: { allowed: LOOPBACK }, slackIntervalMs: intervalMs })
    const slack: Destination = { name: 'slack', channel: 'slack', url: hook.url }
    const events = [1, 2, 3, 4].map((n) => ({ ...deployed, id: `e${n}`, title: `event ${n}` }))
    await Promise.all(events.map((event) => deliver(slack, event)))
    expect(hook.received.map((r) => JSON.parse(r.body).text.split(' https')[0])).toEqual([
      'event 1',
      'event 2',
      'event 3',
      'event 4',
    ])
    // Each message is sent an interval after the previous one was answered, so arrivals are at
    // least that far apart; a floor only (a slow machine only spaces them more; 5 ms for the
    // two clocks' rounding).
    for (let i = 1; i < hook.received.length; i++) {
      const gap = (hook.received[i]?.at ?? 0) - (hook.received[i - 1]?.at ?? 0)
      expect(gap).toBeGreaterThanOrEqual(intervalMs - 5)
    }
  })

  it("a 429 is tried again; Slack's 4xx reason codes fail for good", async () => {
    const hook = await receiver((n) =>
      n === 0
        ? { status: 429, headers: { 'retry-after': '0' } }
        : { status: 400, body: 'invalid_blocks' },
    )
    channels = createChannels({ reach: { allowed: LOOPBACK }, slackIntervalMs: 1 })
    const slack: Destination = { name: 'slack', channel: 'slack', url: hook.url }
    expect((await deliver(slack)).retrying).toEqual(['slack'])
    expect((await deliver(slack)).failed).toEqual(['slack'])
    expect((await store.listNotifications())[0]?.lastError).toBe(
      'Slack answered 400 invalid_blocks',
    )
  })
})

describe('email channel', () => {
  it('sends through a real SMTP server process, pooled', async () => {
    const smtp = await startSmtpReceiver()
    try {
      channels = createChannels({ reach: { allowed: LOOPBACK } })
      const email: Destination = {
        name: 'email',
        channel: 'email',
        smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
        from: 'DevSys <devsys@example.com>',
        to: ['ops@example.com', 'dev@example.com'],
      }
      expect((await deliver(email)).delivered).toEqual(['email'])
      const second = {
        ...deployed,
        id: 'rollback:acme/shop:9',
        type: 'rollback' as const,
        title: 'production rolled back',
      }
      expect((await deliver(email, second)).delivered).toEqual(['email'])
      const [first, next] = await smtp.waitFor(2)
      expect(first?.from).toBe('devsys@example.com')
      expect(first?.to).toEqual(['ops@example.com', 'dev@example.com'])
      expect(first?.data).toMatch(
        /^Subject: \[DevSys\] acme\/shop: shop-api deployed to production\r?$/m,
      )
      expect(first?.data).toMatch(/^Environment: production\r?$/m)
      expect(first?.data).toContain('https://shop.example.com/')
      expect(next?.data).toMatch(/^Subject: \[DevSys\] acme\/shop: production rolled back\r?$/m)
    } finally {
      channels.close()
      await smtp.close()
    }
  })

  it('refuses an SMTP host on a private network unless allowed', async () => {
    channels = createChannels({ reach: { allowed: EMPTY_ALLOW_LIST } })
    const email: Destination = {
      name: 'email',
      channel: 'email',
      smtpUrl: 'smtp://10.1.2.3:25',
      from: 'devsys@example.com',
      to: ['ops@example.com'],
    }
    expect((await deliver(email)).failed).toEqual(['email'])
    expect((await store.listNotifications())[0]?.lastError).toMatch(
      /10\.1\.2\.3 is a private network address/,
    )
  })
})
