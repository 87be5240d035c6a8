import { createHmac, randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Devsys, startDevsys } from '../../src/boot.js'
import { createLogger } from '../../src/logger.js'
import { testPrivateKey } from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'

const SECRET = 'guards-test-secret'
const MiB = 1024 * 1024
let devsys: Devsys | undefined
let lines: string[] = []
let dir: string
const cwd = process.cwd()
const savedEnv = { ...process.env }

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'devsys-guards-'))
  // Probot's setup page writes .env into the working directory: keep it in the temp dir.
  process.chdir(dir)
  lines = []
})
afterEach(async () => {
  await devsys?.stop()
  devsys = undefined
  process.chdir(cwd)
  rmSync(dir, { recursive: true, force: true })
  // Probot's import also copies the credentials into process.env.
  for (const key of ['APP_ID', 'PRIVATE_KEY', 'WEBHOOK_SECRET']) {
    if (savedEnv[key] === undefined) delete process.env[key]
    else process.env[key] = savedEnv[key]
  }
})

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

async function start(env: Record<string, string> = {}): Promise<Devsys> {
  devsys = await startDevsys({
    env: {
      DATA_DIR: join(dir, 'data'),
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      DEVSYS_WORKER: 'off',
      ...env,
    },
    log: createLogger('info', { write: (line: string) => lines.push(line) }),
  })
  return devsys
}

const appEnv = { APP_ID: '1', PRIVATE_KEY: testPrivateKey(), WEBHOOK_SECRET: SECRET }

function signed(body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': 'issues',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
  }
}

/** What a raw TCP client saw: the bytes answered, when the server closed, what it managed to send. */
interface RawExchange {
  answer: string
  closedAfterMs: number
  sentBytes: number
}

/**
 * Sends `head` over a raw socket, then lets `send` write the body (it gets a write that waits
 * for drain and fails once the server has closed), and collects the answer until the close.
 */
function rawExchange(
  port: number,
  head: string,
  send: (write: (chunk: Buffer | string) => Promise<boolean>) => Promise<void>,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket: Socket = connect(port, '127.0.0.1')
    let answer = ''
    let sentBytes = 0
    let closed = false
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1')
    })
    socket.on('error', () => {
      // A reset after the answer is how a refused upload ends; the answer is what matters.
    })
    socket.on('close', () => {
      closed = true
      resolve({ answer, closedAfterMs: Date.now() - started, sentBytes })
    })
    const write = (chunk: Buffer | string): Promise<boolean> =>
      new Promise((done) => {
        if (closed || socket.destroyed) return done(false)
        sentBytes += Buffer.byteLength(chunk)
        if (socket.write(chunk)) return done(true)
        const onDrain = () => done(true)
        socket.once('drain', onDrain)
        socket.once('close', () => {
          socket.off('drain', onDrain)
          done(false)
        })
      })
    socket.once('connect', () => {
      write(head)
        .then(() => send(write))
        .catch(reject)
    })
  })
}

const refusals = () => lines.map((l) => JSON.parse(l) as { msg: string; status?: number })

describe('setup mode: the one-time setup token', () => {
  it('refuses setup pages and the import without it, works with it, and is spent after the import', async () => {
    const { port } = await start()
    const base = `http://127.0.0.1:${port}`
    const line = lines.find((l) => l.includes('DevSys needs registering'))
    const token = /\/probot\?token=([\w-]+)/.exec(line ?? '')?.[1]
    expect(token).toMatch(/^[\w-]{32}$/)
    const creds = JSON.stringify({ appId: '4242', pem: 'attacker-key', webhook_secret: 'attacker' })
    const json = { 'content-type': 'application/json' }

    // Without the token (or with a wrong one) nothing is served and nothing is written.
    const page = await httpRequest(`${base}/probot`)
    expect(page.status).toBe(403)
    expect(page.text).toContain('?token=')
    expect(page.text).not.toContain('Register GitHub App')
    for (const url of [`${base}/probot/import`, `${base}/probot/import?token=wrong`]) {
      const imported = await httpRequest(url, { method: 'POST', headers: json, body: creds })
      expect(imported.status).toBe(403)
    }
    const forgedCookie = await httpRequest(`${base}/probot/import`, {
      method: 'POST',
      headers: { ...json, cookie: 'devsys_setup=wrong' },
      body: creds,
    })
    expect(forgedCookie.status).toBe(403)
    expect(existsSync(join(dir, '.env'))).toBe(false)
    expect(process.env.APP_ID).toBe(savedEnv.APP_ID)
    // The manager API keeps its own authentication.
    expect((await httpRequest(`${base}/api/health`)).status).toBe(200)

    // The token from the log: moved into an HttpOnly cookie, then the page is served.
    const opened = await httpRequest(`${base}/probot?token=${token}`)
    expect(opened.status).toBe(302)
    expect(opened.headers.location).toBe('/probot')
    const setCookie = String(opened.headers['set-cookie'])
    expect(setCookie).toContain(`devsys_setup=${token}`)
    expect(setCookie).toContain('HttpOnly')
    expect(setCookie).toContain('SameSite=Lax')
    const cookie = { cookie: `devsys_setup=${token}` }
    const registration = await httpRequest(`${base}/probot`, { headers: cookie })
    expect(registration.status).toBe(200)
    expect(registration.text).toContain('Register GitHub App')

    const imported = await httpRequest(`${base}/probot/import`, {
      method: 'POST',
      headers: { ...json, ...cookie },
      body: creds,
    })
    expect(imported.status).toBe(200)
    expect(readFileSync(join(dir, '.env'), 'utf8')).toContain('APP_ID=4242')

    // Spent: the same token opens nothing any more.
    expect((await httpRequest(`${base}/probot`, { headers: cookie })).status).toBe(410)
    const again = await httpRequest(`${base}/probot/import?token=${token}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ appId: '1', pem: 'second', webhook_secret: 'second' }),
    })
    expect(again.status).toBe(410)
    expect(readFileSync(join(dir, '.env'), 'utf8')).toContain('APP_ID=4242')
  })
})

describe('webhook bodies are bounded before Probot reads them', () => {
  it('answers 413 to a Content-Length over 25 MiB at once, without waiting for the body', async () => {
    const { port } = await start(appEnv)
    const head =
      'POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\n' +
      Object.entries(signed('{}'))
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      `content-length: ${26 * MiB}\r\n\r\n`
    // Only the headers are sent; the server must not wait for the 26 MiB it was promised.
    const seen = await rawExchange(port, head, async (write) => {
      await write('{"action":')
    })
    expect(seen.answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(seen.answer).toContain('over 25 MiB')
    expect(seen.closedAfterMs).toBeLessThan(3000)
    expect(refusals().some((l) => l.msg === 'refused an oversized request body')).toBe(true)
  })

  it('stops reading a chunked body at 25 MiB, stays responsive and logs none of it', async () => {
    const { port } = await start(appEnv)
    const head =
      'POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\n' +
      Object.entries(signed('{}'))
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      'transfer-encoding: chunked\r\n\r\n'
    const chunk = Buffer.from(`100000\r\n${'Z'.repeat(MiB)}\r\n`) // 1 MiB per chunk
    // The client would send 300 MiB; the server must refuse long before.
    const seen = await rawExchange(port, head, async (write) => {
      for (let i = 0; i < 300; i++) if (!(await write(chunk))) return
    })
    expect(seen.answer).toMatch(/^HTTP\/1\.1 413 /)
    // What the client got into the socket: 25 MiB read, plus what the kernel buffers held.
    expect(seen.sentBytes).toBeLessThan(60 * MiB)
    const ping = await httpRequest(`http://127.0.0.1:${port}/ping`)
    expect(ping.text).toBe('PONG')
    const logged = lines.join('')
    expect(logged).toContain('refused an oversized request body')
    expect(logged).not.toContain('ZZZZZZZZ')
  })

  it('times out a body that stalls, with 408, after REQUEST_TIMEOUT_MS', async () => {
    const { port } = await start({ ...appEnv, REQUEST_TIMEOUT_MS: '800' })
    const head =
      'POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\n' +
      Object.entries(signed('{}'))
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      'content-length: 1000\r\n\r\n'
    const seen = await rawExchange(port, head, async (write) => {
      await write('{"action"') // ...and nothing more, ever
    })
    expect(seen.answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(seen.answer).toContain('REQUEST_TIMEOUT_MS')
    expect(seen.closedAfterMs).toBeGreaterThanOrEqual(700)
    expect(seen.closedAfterMs).toBeLessThan(5000)
  })

  it('still receives a signed delivery, and never logs the body of a forged one', async () => {
    const { port, queue } = await start(appEnv)
    const url = `http://127.0.0.1:${port}/api/github/webhooks`
    const genuine = JSON.stringify(examplePayload('issues', 'labeled'))
    const ok = await httpRequest(url, { method: 'POST', headers: signed(genuine), body: genuine })
    expect(ok.status).toBe(200)
    expect(await queue.listJobs()).toHaveLength(1)

    const marker = 'forged-body-marker-4f1c'
    const forged = JSON.stringify(
      examplePayload('issues', 'labeled', (p) => {
        p.issue.title = marker
      }),
    )
    const headers = { ...signed(forged), 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }
    const refused = await httpRequest(url, { method: 'POST', headers, body: forged })
    expect(refused.status).toBe(400)
    const logged = lines.join('')
    expect(logged).toContain('signature does not match') // the refusal was logged...
    expect(logged).not.toContain(marker) // ...without the body
    expect(logged).not.toContain('"payload":"{')
  })
})
