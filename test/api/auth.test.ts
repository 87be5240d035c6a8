import type { IncomingMessage } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { authorize } from '../../src/api/authorize.js'
import { ApiError } from '../../src/api/http.js'
import { httpRequest } from '../helpers/http.js'
import { type ApiBody, type ApiServer, startApiServer } from './api-server.js'

const TOKEN = 'manager-token-0123456789'
let api: ApiServer | undefined

afterEach(async () => {
  await api?.close()
  api = undefined
})

describe('manager API: authentication', () => {
  it('requires the token when MANAGER_API_TOKEN is set, in either header', async () => {
    api = await startApiServer({ MANAGER_API_TOKEN: TOKEN })
    const none = await httpRequest(`${api.url}/api/tasks`)
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toContain('Bearer')
    expect(none.json<ApiBody>().error.message).toContain('Authorization: Bearer')
    const wrong = await httpRequest(`${api.url}/api/tasks`, {
      headers: { authorization: `Bearer ${TOKEN}x` },
    })
    expect(wrong.status).toBe(401)
    expect(wrong.text).not.toContain(TOKEN)
    const bearer = await httpRequest(`${api.url}/api/tasks`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(bearer.status).toBe(200)
    const header = await httpRequest(`${api.url}/api/tasks`, { headers: { 'x-api-token': TOKEN } })
    expect(header.status).toBe(200)
  })

  it('answers /api/health without the token (health checks), and nothing else', async () => {
    api = await startApiServer({ MANAGER_API_TOKEN: TOKEN })
    const health = await httpRequest(`${api.url}/api/health`)
    expect(health.status).toBe(200)
    expect(health.json()).toEqual({ status: 'ok' })
    expect((await httpRequest(`${api.url}/api/deploys`)).status).toBe(401)
    expect((await httpRequest(`${api.url}/api/tasks/x/deploy`, { method: 'POST' })).status).toBe(
      401,
    )
  })

  it('refuses a caller on loopback without the token: being on this machine proves nothing', async () => {
    api = await startApiServer({ MANAGER_API_TOKEN: TOKEN })
    // This request comes from 127.0.0.1, as a check or a site DevSys serves would.
    const local = await httpRequest(`${api.url}/api/tasks`, { method: 'GET' })
    expect(local.status).toBe(401)
    expect(local.json<ApiBody>().error.code).toBe('unauthorized')
    const deploy = await httpRequest(`${api.url}/api/tasks/x/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(deploy.status).toBe(401)
    expect(await api.queue.listJobs({})).toEqual([])
  })

  it('without any token configured, answers nobody, loopback included', () => {
    const from = (remoteAddress: string) =>
      ({ headers: {}, socket: { remoteAddress } }) as unknown as IncomingMessage
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3']) {
      let error: unknown
      try {
        authorize(from(address), undefined)
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(ApiError)
      expect((error as ApiError).status).toBe(503)
      expect((error as ApiError).message).toContain('MANAGER_API_TOKEN')
    }
  })
})
