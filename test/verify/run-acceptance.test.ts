import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { AcceptanceCheck } from '../../src/manifest/types.js'
import type { ReachPolicy } from '../../src/verify/guard-url.js'
import { formatAcceptanceSummary, joinUrl, runAcceptance } from '../../src/verify/run-acceptance.js'
import type { SendRequest } from '../../src/verify/send-pinned.js'

// A real HTTP server on loopback with Node's own fetch: this file imports no nock.
let servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  servers = []
})

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

async function serve(handler: Handler): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8')
    })
    req.on('end', () => {
      hits.push(`${req.method} ${req.url}`)
      handler(req, res, body)
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

const check = (over: Partial<AcceptanceCheck> = {}): AcceptanceCheck => ({
  method: 'GET',
  path: '/',
  status: 200,
  timeoutMs: 2000,
  ...over,
})

/** These sites all listen on 127.0.0.1, which the server's allow-list has to name. */
const loopback: ReachPolicy = {
  trustedOrigins: [],
  allowed: { names: [], cidrs: ['127.0.0.1/32'] },
}
const fast = { retryDelayMs: 10, reach: loopback }

describe('runAcceptance', () => {
  it('passes when status and texts match, sending method, headers and body', async () => {
    const site = await serve((req, res, body) => {
      res.writeHead(req.url === '/missing' ? 404 : 201, { 'content-type': 'text/html' })
      res.end(`<h1>Hello, world</h1> got ${req.headers['x-test']} ${body}`)
    })
    const result = await runAcceptance(
      `${site.url}/`,
      [
        check({ id: 'home', bodyContains: ['Hello, world'], bodyMatches: 'H[e]llo', status: 201 }),
        check({
          method: 'POST',
          path: '/p',
          headers: { 'x-test': 'yes' },
          body: 'b=1',
          status: 201,
          bodyContains: ['got yes b=1'],
        }),
        check({ path: '/missing', status: 404 }),
      ],
      fast,
    )
    expect(result.ok).toBe(true)
    expect(result.checks.map((c) => [c.id, c.ok, c.status, c.attempts])).toEqual([
      ['home', true, 201, 1],
      ['POST /p', true, 201, 1],
      ['GET /missing', true, 404, 1],
    ])
    expect(site.hits).toEqual(['GET /', 'POST /p', 'GET /missing'])
  })

  it('names every problem: status, missing text, regex mismatch', async () => {
    const site = await serve((_req, res) => {
      res.writeHead(200)
      res.end('Welcome to another site')
    })
    const result = await runAcceptance(
      site.url,
      [check({ status: 404, bodyContains: ['Hello, world', 'Welcome'], bodyMatches: '^Hello' })],
      fast,
    )
    expect(result.ok).toBe(false)
    expect(result.checks[0]?.problems).toEqual([
      'status 200, expected 404',
      'body does not contain "Hello, world"',
      'body does not match /^Hello/',
    ])
    // A wrong answer is not retried: it will not get better.
    expect(result.checks[0]?.attempts).toBe(1)
  })

  it('retries 5xx answers and passes once the site recovers', async () => {
    let n = 0
    const site = await serve((_req, res) => {
      n++
      res.writeHead(n < 3 ? 503 : 200)
      res.end('ok')
    })
    const result = await runAcceptance(site.url, [check({ bodyContains: ['ok'] })], fast)
    expect(result.checks[0]).toMatchObject({ ok: true, status: 200, attempts: 3 })
  })

  it('gives up on a 500 after retries + 1 attempts', async () => {
    const site = await serve((_req, res) => {
      res.writeHead(500)
      res.end('boom')
    })
    const result = await runAcceptance(site.url, [check()], {
      retries: 2,
      retryDelayMs: 10,
      reach: loopback,
    })
    expect(result.checks[0]).toMatchObject({ ok: false, status: 500, attempts: 3 })
    expect(result.checks[0]?.problems).toEqual(['status 500, expected 200'])
    expect(site.hits).toHaveLength(3)
  })

  it('reports connection refused', async () => {
    const site = await serve(() => undefined)
    await new Promise((r) => servers.pop()?.close(r))
    const result = await runAcceptance(site.url, [check()], {
      retries: 1,
      retryDelayMs: 10,
      reach: loopback,
    })
    const host = new URL(site.url).host
    expect(result.checks[0]).toMatchObject({ ok: false, status: null, attempts: 2 })
    expect(result.checks[0]?.problems).toEqual([`connection refused by ${host}`])
  })

  it('times out a slow answer with the check own timeout', async () => {
    const site = await serve((_req, res) => {
      setTimeout(() => res.end('late'), 1500)
    })
    const started = Date.now()
    const result = await runAcceptance(site.url, [check({ timeoutMs: 150 })], {
      retries: 0,
      reach: loopback,
    })
    expect(result.checks[0]?.problems).toEqual(['timeout after 150 ms'])
    expect(Date.now() - started).toBeLessThan(1200)
  })

  it('follows redirects on the same host but never to another host', async () => {
    const site = await serve((req, res) => {
      if (req.url === '/old') res.writeHead(301, { location: '/new' }).end()
      else if (req.url === '/away')
        res.writeHead(302, { location: 'http://example.invalid/' }).end()
      else res.writeHead(200).end('new page')
    })
    const result = await runAcceptance(
      site.url,
      [
        check({ path: '/old', bodyContains: ['new page'] }),
        check({ path: '/away' }),
        check({ path: '/old', status: 301 }),
      ],
      fast,
    )
    expect(result.checks.map((c) => [c.ok, c.status, c.problems])).toEqual([
      [true, 200, []],
      [false, 302, ['redirected to another host (http://example.invalid); not followed']],
      [true, 301, []],
    ])
    expect(site.hits).toEqual(['GET /old', 'GET /new', 'GET /away', 'GET /old'])
  })

  it('reads at most 5 MB of a body', async () => {
    const site = await serve((_req, res) => {
      res.writeHead(200)
      res.write(Buffer.alloc(6 * 1024 * 1024, 'a'))
      res.end('needle')
    })
    const result = await runAcceptance(site.url, [check({ bodyContains: ['needle'] })], fast)
    expect(result.checks[0]?.problems).toEqual(['body does not contain "needle"'])
  })

  it('stops retrying when its signal is aborted', async () => {
    const site = await serve((_req, res) => res.writeHead(503).end())
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const result = await runAcceptance(site.url, [check()], {
      retries: 50,
      retryDelayMs: 30,
      signal: controller.signal,
      reach: loopback,
    })
    expect(result.ok).toBe(false)
    expect(result.checks[0]?.attempts).toBeLessThan(10)
  })

  it('sends through an injected sender, to the address the name resolved to', async () => {
    const seen: string[] = []
    const send: SendRequest = async (url, to) => {
      seen.push(`${url.href} via ${to.address}`)
      return new Response('hi', { status: 200 })
    }
    const result = await runAcceptance(
      'http://site.test/app',
      [check({ path: '/x?y=1', bodyContains: ['hi'] })],
      {
        send,
        reach: { ...loopback, resolve: async () => [{ address: '93.184.216.34', family: 4 }] },
      },
    )
    expect(result.ok).toBe(true)
    expect(seen).toEqual(['http://site.test/app/x?y=1 via 93.184.216.34'])
  })

  it('runs bodyMatches in linear time: (a+)+$ against 34 a and a stop answers', async () => {
    const site = await serve((_req, res) => res.writeHead(200).end(`${'a'.repeat(34)}!`))
    const result = await runAcceptance(
      site.url,
      [check({ bodyMatches: '(a+)+$' }), check({ bodyMatches: '^(a+)+!$' })],
      fast,
    )
    expect(result.checks.map((c) => [c.ok, c.problems])).toEqual([
      [false, ['body does not match /(a+)+$/']],
      [true, []],
    ])
  })
})

describe('joinUrl', () => {
  it('keeps the base path and the origin', () => {
    expect(joinUrl('http://h:1/base/', '/a?b=c').href).toBe('http://h:1/base/a?b=c')
    expect(joinUrl('http://h:1', 'a').href).toBe('http://h:1/a')
    expect(() => joinUrl('http://h:1', '@evil.test/')).not.toThrow()
    expect(joinUrl('http://h:1', '@evil.test/').host).toBe('h:1')
  })
})

describe('formatAcceptanceSummary', () => {
  it('lists every check and the problems of the failed ones', () => {
    const text = formatAcceptanceSummary({
      ok: false,
      baseUrl: 'http://127.0.0.1:8080',
      durationMs: 42,
      checks: [
        {
          id: 'home',
          method: 'GET',
          path: '/',
          ok: true,
          status: 200,
          expected: 200,
          problems: [],
          attempts: 1,
          durationMs: 5,
        },
        {
          id: 'a|b',
          method: 'GET',
          path: '/x',
          ok: false,
          status: null,
          expected: 200,
          problems: ['timeout after 100 ms'],
          attempts: 4,
          durationMs: 400,
        },
      ],
    })
    expect(text).toContain('**1 of 2 acceptance checks passed** against http://127.0.0.1:8080')
    expect(text).toContain('| ✅ | home | `GET /` | 200 (expected 200) | 1 | 5 ms |')
    expect(text).toContain('| ❌ | a\\|b | `GET /x` | — (expected 200) | 4 | 400 ms |')
    expect(text).toContain('- **a\\|b** (`GET /x`): timeout after 100 ms')
  })
})
