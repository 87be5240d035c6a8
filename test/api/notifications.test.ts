/**
 * GET /api/notifications and POST /api/notifications/test against the API over a real SQLite
 * store, with real receivers on loopback (allowed through NOTIFY_ALLOWED_HOSTS).
 */
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { type HttpReceiver, startHttpReceiver } from '../notify/receivers.js'
import { type ApiServer, startApiServer } from './api-server.js'

const SECRET = `whsec_${Buffer.from('devsys-notify-test-secret-32-byt').toString('base64')}`

interface Listing {
  destinations: Array<{ name: string; channel: string; host: string }>
  deliveries: Array<Record<string, unknown>>
}

let api: ApiServer | undefined
const receivers: HttpReceiver[] = []
afterEach(async () => {
  await api?.close()
  api = undefined
  for (const r of receivers.splice(0)) await r.close()
})

async function receiver(answer?: Parameters<typeof startHttpReceiver>[0]) {
  const r = await startHttpReceiver(answer)
  receivers.push(r)
  return r
}

describe('POST /api/notifications/test', () => {
  it('sends a signed test event to every destination and answers what each did', async () => {
    const hook = await receiver()
    const slack = await receiver(() => ({ status: 200, body: 'ok' }))
    api = await startApiServer({
      NOTIFY_WEBHOOK_URL: hook.url,
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_SLACK_WEBHOOK_URL: slack.url,
      NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
    })
    const answer = await api.request('/api/notifications/test', { method: 'POST' })
    expect(answer.status).toBe(200)
    const body = answer.json<{ event: string; results: unknown[] }>()
    expect(body.results).toEqual([
      { destination: 'webhook', channel: 'webhook', status: 'delivered', error: null },
      { destination: 'slack', channel: 'slack', status: 'delivered', error: null },
    ])
    const sent = hook.received[0]
    const verified = new Webhook(SECRET).verify(
      sent?.body ?? '',
      sent?.headers as Record<string, string>,
    )
    expect(verified).toMatchObject({
      type: 'test',
      data: { id: body.event, title: 'DevSys test notification' },
    })
    expect(JSON.parse(slack.received[0]?.body ?? '{}').text).toBe('DevSys test notification')

    // The log shows both deliveries by name, never a URL, its token or the secret.
    const listed = await api.request('/api/notifications')
    expect(listed.status).toBe(200)
    const listing = listed.json<Listing>()
    expect(listing.destinations).toEqual([
      { name: 'webhook', channel: 'webhook', host: `http://${new URL(hook.url).host}` },
      { name: 'slack', channel: 'slack', host: `http://${new URL(slack.url).host}` },
    ])
    expect(
      listing.deliveries.map((d) => [d.destination, d.status, d.attempts, d.lastError]),
    ).toEqual([
      ['slack', 'delivered', 1, null],
      ['webhook', 'delivered', 1, null],
    ])
    expect(listed.text).not.toContain('secret-token-in-path')
    expect(listed.text).not.toContain(SECRET.slice(6))
  })

  it('answers 502 with the reason when a destination fails; 410 disables it', async () => {
    const hook = await receiver(() => ({ status: 410 }))
    api = await startApiServer({
      NOTIFY_WEBHOOK_URL: hook.url,
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_SLACK_WEBHOOK_URL: 'http://10.0.0.9/services/x',
      NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
    })
    const answer = await api.request('/api/notifications/test', { method: 'POST' })
    expect(answer.status).toBe(502)
    const { results } = answer.json<{ results: Array<Record<string, unknown>> }>()
    expect(results[0]).toEqual({
      destination: 'webhook',
      channel: 'webhook',
      status: 'disabled',
      error: 'the receiver answered 410 Gone',
    })
    expect(results[1]).toMatchObject({ destination: 'slack', status: 'failed' })
    expect(results[1]?.error).toMatch(
      /10\.0\.0\.9 is a private network address; notification destinations must be public, or listed in NOTIFY_ALLOWED_HOSTS/,
    )
    const listing = (await api.request('/api/notifications?destination=webhook')).json<Listing>()
    expect(listing.deliveries.map((d) => d.status)).toEqual(['disabled'])
  })

  it('answers 409 when no destination is configured; only POST; the token is needed', async () => {
    api = await startApiServer()
    const answer = await api.request('/api/notifications/test', { method: 'POST' })
    expect(answer.status).toBe(409)
    expect(answer.json<{ error: { code: string } }>().error.code).toBe('no_destinations')
    expect((await api.request('/api/notifications/test')).status).toBe(405)
    expect((await api.request('/api/notifications?limit=0')).status).toBe(400)
    const anonymous = await fetch(`${api.url}/api/notifications`)
    expect(anonymous.status).toBe(401)
  })
})
