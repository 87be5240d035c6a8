import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { serveModelProxy } from '../../src/generate/agent/serve-model-proxy.js'
import { type FakeLlm, startFakeLlm } from '../support/fake-llm.js'

let dir: string
let fake: FakeLlm
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devsys-proxy-'))
  fake = await startFakeLlm({ script: [{ text: 'Hello.' }] })
})
afterEach(async () => {
  await fake.close()
  await rm(dir, { recursive: true, force: true })
})

/** One request over the proxy's Unix socket; resolves with the status and the body. */
function call(socketPath: string, method: string, path: string, headers = {}, body = '') {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ socketPath, method, path, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('model proxy', () => {
  it('forwards model calls to the endpoint with the real key in place of the agent’s', async () => {
    const socketPath = join(dir, 'model.sock')
    const proxy = await serveModelProxy(
      { baseUrl: fake.url, apiKey: 'sk-real-5b1e9a' },
      { socketPath },
    )
    try {
      const body = JSON.stringify({ model: 'm', stream: true, messages: [], tools: [{}] })
      const answer = await call(
        socketPath,
        'POST',
        '/v1/chat/completions',
        { authorization: 'Bearer dummy', 'x-api-key': 'dummy', 'content-type': 'application/json' },
        body,
      )
      expect(answer.status).toBe(200)
      expect(answer.body).toContain('Hello.')
      expect(fake.requests[0]?.headers.authorization).toBe('Bearer sk-real-5b1e9a')
      expect(fake.requests[0]?.headers['x-api-key']).toBeUndefined()
      // Anything else is refused before it leaves: other paths, methods, escapes.
      for (const [method, path] of [
        ['POST', '/v1/files'],
        ['GET', '/v1/../admin'],
        ['DELETE', '/v1/models/m'],
        ['POST', '/other/chat/completions'],
      ] as const) {
        expect((await call(socketPath, method, path)).status, `${method} ${path}`).toBe(403)
      }
      expect(fake.requests).toHaveLength(1)
      expect(proxy.stats).toEqual({ forwarded: 1, refused: 4 })
    } finally {
      await proxy.close()
    }
  })

  it('answers 502 naming the endpoint, not the key, when the endpoint cannot be reached', async () => {
    const socketPath = join(dir, 'model.sock')
    const proxy = await serveModelProxy(
      { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-real-5b1e9a' },
      { socketPath },
    )
    try {
      const answer = await call(socketPath, 'POST', '/v1/responses', {}, '{}')
      expect(answer.status).toBe(502)
      expect(answer.body).toContain('DevSys could not reach the model endpoint http://127.0.0.1:9')
      expect(answer.body).not.toContain('sk-real')
    } finally {
      await proxy.close()
    }
  })
})
