import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { AcceptanceCheck } from '../../src/manifest/types.js'
import type { ReachPolicy, ResolveHost } from '../../src/verify/guard-url.js'
import { EMPTY_ALLOW_LIST } from '../../src/verify/parse-allowed-hosts.js'
import { runAcceptance } from '../../src/verify/run-acceptance.js'
import type { SendRequest } from '../../src/verify/send-pinned.js'
import { type ApiServer, startApiServer } from '../api/api-server.js'

// Real servers on loopback standing in for what an attacker's checks aim at; every test proves
// that nothing reached them, not only that the check failed.
let servers: Server[] = []
let api: ApiServer | undefined
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  servers = []
  await api?.close()
  api = undefined
})

/** A loopback site recording `METHOD /path` of each request; `handle` answers (default 200 ok). */
async function site(
  handle: (url: string, res: import('node:http').ServerResponse) => void = (_u, res) =>
    res.writeHead(200).end('ok'),
): Promise<{ url: string; port: number; hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`)
    handle(req.url ?? '/', res)
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, port, hits }
}

const check = (over: Partial<AcceptanceCheck> = {}): AcceptanceCheck => ({
  method: 'GET',
  path: '/',
  status: 200,
  timeoutMs: 2000,
  ...over,
})

const strict: ReachPolicy = { trustedOrigins: [], allowed: EMPTY_ALLOW_LIST }
const WHERE =
  "only the environment's own target or hosts in ACCEPTANCE_ALLOWED_HOSTS may be checked"

/** A resolver with fixed answers per name; counts lookups. */
function resolver(answers: Record<string, string[] | string[][]>) {
  const calls: string[] = []
  const resolve: ResolveHost = async (hostname) => {
    calls.push(hostname)
    const answer = answers[hostname]
    if (answer === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
    // A list of lists: one answer per lookup, the last repeated (a rebinding name).
    const nth = Array.isArray(answer[0])
      ? ((answer as string[][])[
          Math.min(calls.filter((c) => c === hostname).length - 1, answer.length - 1)
        ] ?? [])
      : (answer as string[])
    return nth.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return { resolve, calls }
}

describe('acceptance checks cannot be aimed at DevSys or private networks', () => {
  it("refuses DevSys's own manager API port, whatever the method, body and headers; nothing arrives", async () => {
    api = await startApiServer()
    const result = await runAcceptance(
      api.url,
      [
        check({ path: '/api/tasks', headers: { authorization: `Bearer ${api.token}` } }),
        check({ method: 'POST', path: '/api/tasks/blog/deploy', body: '{}', status: 202 }),
      ],
      { reach: strict, retryDelayMs: 10 },
    )
    const refusal = `refused: 127.0.0.1 is a loopback address; ${WHERE}`
    expect(result.checks.map((c) => [c.ok, c.status, c.attempts, c.problems])).toEqual([
      [false, null, 1, [refusal]],
      [false, null, 1, [refusal]],
    ])
    expect(api.requests).toEqual([])
  })

  it('refuses the cloud metadata address 169.254.169.254 without sending anything', async () => {
    const sent: string[] = []
    const send: SendRequest = async (url) => {
      sent.push(url.href)
      return new Response('{"AccessKeyId":"..."}')
    }
    const result = await runAcceptance(
      'http://169.254.169.254/latest/meta-data/',
      [check({ path: 'iam/security-credentials/' })],
      { reach: strict, send },
    )
    expect(result.checks[0]?.problems).toEqual([
      `refused: 169.254.169.254 is a link-local address (where cloud metadata services answer); ${WHERE}`,
    ])
    expect(sent).toEqual([])
  })

  it('refuses a host name that resolves to loopback, and one with any private address among public ones', async () => {
    const target = await site()
    const { resolve } = resolver({
      'internal.example': ['127.0.0.1'],
      'mixed.example': ['93.184.216.34', '10.0.0.7'],
    })
    const reach = { ...strict, resolve }
    const result = await runAcceptance(`http://internal.example:${target.port}`, [check()], {
      reach,
    })
    expect(result.checks[0]?.problems).toEqual([
      `refused: internal.example resolves to 127.0.0.1, which is a loopback address; ${WHERE}`,
    ])
    const mixed = await runAcceptance(`http://mixed.example:${target.port}`, [check()], { reach })
    expect(mixed.checks[0]?.problems).toEqual([
      `refused: mixed.example resolves to 10.0.0.7, which is a private network address; ${WHERE}`,
    ])
    expect(target.hits).toEqual([])
  })

  it('refuses IPv4 written as IPv6, unspecified and other non-public forms', async () => {
    const target = await site()
    const urls = [
      `http://[::ffff:127.0.0.1]:${target.port}/`,
      `http://[::ffff:a9fe:a9fe]/`,
      `http://0.0.0.0:${target.port}/`,
      `http://[::1]:${target.port}/`,
      `http://[fd00::1]/`,
      `http://100.64.0.1/`,
      `http://[::127.0.0.1]:${target.port}/`,
      `http://2130706433:${target.port}/`,
    ]
    const problems: string[] = []
    for (const url of urls) {
      const result = await runAcceptance(url, [check()], { reach: strict })
      problems.push(result.checks[0]?.problems[0]?.replace(`; ${WHERE}`, '') ?? 'passed')
    }
    expect(problems).toEqual([
      'refused: ::ffff:7f00:1 (127.0.0.1) is a loopback address',
      'refused: ::ffff:a9fe:a9fe (169.254.169.254) is a link-local address (where cloud metadata services answer)',
      'refused: 0.0.0.0 is an unspecified address (it reaches this machine)',
      'refused: ::1 is a loopback address',
      'refused: fd00::1 is a unique-local IPv6 address (a private network)',
      'refused: 100.64.0.1 is a carrier-grade NAT address (a private network)',
      'refused: ::7f00:1 is an IPv4-compatible IPv6 address',
      'refused: 127.0.0.1 is a loopback address',
    ])
    expect(target.hits).toEqual([])
  })

  it("refuses a redirect from an allowed host to DevSys's loopback port", async () => {
    api = await startApiServer()
    const apiUrl = api.url
    const allowed = await site((_url, res) =>
      res.writeHead(302, { location: `${apiUrl}/api/tasks` }).end(),
    )
    const { resolve } = resolver({ 'staging.example': ['127.0.0.1'] })
    const reach: ReachPolicy = {
      trustedOrigins: [],
      allowed: { names: ['staging.example'], cidrs: [] },
      resolve,
    }
    const result = await runAcceptance(
      `http://staging.example:${allowed.port}`,
      [check({ path: '/login' })],
      { reach },
    )
    expect(result.checks[0]).toMatchObject({ ok: false, status: 302 })
    expect(result.checks[0]?.problems).toEqual([
      `redirected to another host (${apiUrl}); not followed`,
    ])
    expect(allowed.hits).toEqual(['GET /login'])
    expect(api.requests).toEqual([])
  })

  it('checks every redirect hop again: a name that rebinds to loopback between hops is refused', async () => {
    const sent: string[] = []
    const send: SendRequest = async (url, to) => {
      sent.push(`${url.href} → ${to.address}`)
      return new Response(null, { status: 302, headers: { location: '/next' } })
    }
    const { resolve, calls } = resolver({
      'rebind.example': [['93.184.216.34'], ['127.0.0.1']],
    })
    const result = await runAcceptance('http://rebind.example', [check()], {
      reach: { ...strict, resolve },
      send,
    })
    expect(result.checks[0]).toMatchObject({ ok: false, status: 302 })
    expect(result.checks[0]?.problems).toEqual([
      `refused: rebind.example resolves to 127.0.0.1, which is a loopback address; ${WHERE}`,
    ])
    expect(sent).toEqual(['http://rebind.example/ → 93.184.216.34'])
    expect(calls).toEqual(['rebind.example', 'rebind.example'])
  })

  it("times a lookup that never answers out with the check's own timeout", async () => {
    const reach: ReachPolicy = { ...strict, resolve: () => new Promise(() => undefined) }
    const result = await runAcceptance('http://slow-dns.example', [check({ timeoutMs: 100 })], {
      reach,
      retries: 0,
    })
    expect(result.checks[0]).toMatchObject({
      ok: false,
      status: null,
      problems: ['timeout after 100 ms'],
    })
  })

  it('connects to the address that was checked: a second lookup would find another', async () => {
    const target = await site()
    // Allowed by address; any lookup after the check answers an unroutable private address.
    const { resolve, calls } = resolver({ 'pinned.example': [['127.0.0.1'], ['10.255.255.1']] })
    const reach: ReachPolicy = {
      trustedOrigins: [],
      allowed: { names: [], cidrs: ['127.0.0.1/32'] },
      resolve,
    }
    const result = await runAcceptance(`http://pinned.example:${target.port}`, [check()], {
      reach,
    })
    expect(result.checks[0]).toMatchObject({ ok: true, status: 200 })
    expect(target.hits).toEqual(['GET /'])
    expect(calls).toEqual(['pinned.example'])
  })

  it("lets the environment's own target on loopback through, and only that origin", async () => {
    const own = await site()
    const other = await site()
    const reach: ReachPolicy = { trustedOrigins: [own.url], allowed: EMPTY_ALLOW_LIST }
    const ok = await runAcceptance(`${own.url}/`, [check()], { reach })
    expect(ok.checks[0]).toMatchObject({ ok: true, status: 200 })
    const refused = await runAcceptance(other.url, [check()], { reach })
    expect(refused.checks[0]?.problems).toEqual([
      `refused: 127.0.0.1 is a loopback address; ${WHERE}`,
    ])
    expect([own.hits, other.hits]).toEqual([['GET /'], []])
  })

  it('lets hosts and ranges of the server allow-list through', async () => {
    const target = await site()
    const { resolve } = resolver({ 'intranet.example': ['127.0.0.1'] })
    const byName: ReachPolicy = {
      trustedOrigins: [],
      allowed: { names: ['intranet.example'], cidrs: [] },
      resolve,
    }
    const byRange: ReachPolicy = {
      trustedOrigins: [],
      allowed: { names: [], cidrs: ['127.0.0.0/8'] },
    }
    const named = await runAcceptance(`http://intranet.example:${target.port}`, [check()], {
      reach: byName,
    })
    const ranged = await runAcceptance(target.url, [check()], { reach: byRange })
    expect([named.checks[0]?.ok, ranged.checks[0]?.ok]).toEqual([true, true])
    expect(target.hits).toEqual(['GET /', 'GET /'])
  })
})
