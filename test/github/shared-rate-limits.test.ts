import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { Probot, ProbotOctokit } from 'probot'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  connectSharedRateLimits,
  type SharedRateLimits,
} from '../../src/github/shared-rate-limits.js'
import { freePort, requireRedis, startTestRedis, type TestRedis } from '../helpers/redis.js'

const INSTALLATION = 42
// Not from helpers/github.ts: importing nock there would route these real requests through it.
const PRIVATE_KEY = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
}).privateKey

/** What the GitHub stand-in was asked, with when each request arrived. */
interface Arrival {
  method: string
  path: string
  at: number
}

/**
 * A GitHub stand-in on a loopback port: installation tokens, and `answer` for the rest
 * (200 `{}` unless it says otherwise).
 */
async function startGitHub(
  answer: (req: IncomingMessage, res: ServerResponse, arrivals: Arrival[]) => boolean = () => false,
) {
  const arrivals: Arrival[] = []
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://github.test').pathname
      if (req.method === 'POST' && path === `/app/installations/${INSTALLATION}/access_tokens`) {
        res.writeHead(201, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            token: 'ghs_standin0123456789',
            expires_at: new Date(Date.now() + 3600_000).toISOString(),
            permissions: { issues: 'write' },
            repository_selection: 'all',
          }),
        )
        return
      }
      arrivals.push({ method: req.method ?? 'GET', path, at: Date.now() })
      if (answer(req, res, arrivals)) return
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** A log that keeps its lines, to assert on warnings. */
function recordingLog() {
  const lines: Array<{ level: number; msg: string }> = []
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  const at = (level: number) => lines.filter((l) => l.level === level).map((l) => l.msg)
  return { log, warnings: () => at(40), debugs: () => at(20) }
}

/**
 * One DevSys process's GitHub side: its own Redis connection (as a separate process has) and a
 * real Probot whose clients come from it, talking to the stand-in.
 */
async function devsysProcess(
  redisUrl: string,
  baseUrl: string,
  timeouts: { connectTimeoutMs?: number; commandTimeoutMs?: number } = {},
) {
  const { log, warnings, debugs } = recordingLog()
  const limits = await connectSharedRateLimits({ url: redisUrl, log, ...timeouts })
  opened.push(limits)
  const probot = new Probot({
    appId: 1,
    privateKey: PRIVATE_KEY,
    secret: 'unused-secret',
    baseUrl,
    Octokit: limits.octokit(ProbotOctokit),
    log,
  })
  return { limits, probot, warnings, debugs, installation: () => probot.auth(INSTALLATION) }
}

const opened: SharedRateLimits[] = []
const unhandled: unknown[] = []
const onUnhandled = (error: unknown) => unhandled.push(error)

afterEach(async () => {
  for (const limits of opened.splice(0)) await limits.close()
})

describe.skipIf(!requireRedis('shares GitHub rate limits between DevSys processes'))(
  'shared GitHub rate limits (REDIS_URL)',
  () => {
    let redis: TestRedis
    const consoleError = vi.spyOn(console, 'error')
    beforeAll(async () => {
      redis = await startTestRedis()
      process.on('unhandledRejection', onUnhandled)
      process.on('uncaughtException', onUnhandled)
    })
    afterAll(async () => {
      await redis.stop()
      process.off('unhandledRejection', onUnhandled)
      process.off('uncaughtException', onUnhandled)
      expect(unhandled).toEqual([])
      // ioredis prints "[ioredis] Unhandled error event" for an error nobody listens to.
      expect(consoleError.mock.calls.flat().join('\n')).not.toContain('Unhandled error')
      consoleError.mockRestore()
    })
    afterEach(async () => {
      await redis.start()
      await redis.client().flushall()
    })

    it('makes a second process wait when GitHub told the first to (403, x-ratelimit-remaining: 0)', async () => {
      let limited = false
      const github = await startGitHub((req, res) => {
        if (limited || req.url !== '/repos/octo/blog/issues/1') return false
        limited = true
        const reset = Math.floor(Date.now() / 1000) + 1
        res.writeHead(403, {
          'content-type': 'application/json',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(reset),
        })
        res.end(JSON.stringify({ message: 'API rate limit exceeded for installation ID 42.' }))
        return true
      })
      try {
        const first = await devsysProcess(redis.url, github.url)
        const second = await devsysProcess(redis.url, github.url)
        expect(first.limits.shared() && second.limits.shared()).toBe(true)
        const a = await first.installation()
        const b = await second.installation()

        // The first process is refused; Probot retries after the reset, and the wait is shared.
        const retried = a.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
          owner: 'octo',
          repo: 'blog',
          issue_number: 1,
        })
        await until(() => github.arrivals.length === 1)
        const refusedAt = github.arrivals[0]?.at ?? 0
        await until(async () => (await redis.client().pttl('devsys:github-rate-limit:42')) > 0)
        const other = await b.request('GET /repos/{owner}/{repo}', { owner: 'octo', repo: 'blog' })
        expect(other.status).toBe(200)
        expect((await retried).status).toBe(200)

        const otherArrival = github.arrivals.find((r) => r.path === '/repos/octo/blog')
        expect(otherArrival?.at).toBeGreaterThanOrEqual(refusedAt + 1000)
        // Probot's limiters (Bottleneck) keep their state in the same Redis.
        const keys = await redis.client().keys('b_*')
        expect(keys).toContain('b_octokit-global-42_settings')
      } finally {
        await github.close()
      }
    })

    it('spaces two processes’ writes a second apart, as one process spaces its own', async () => {
      const github = await startGitHub()
      try {
        const [first, second] = [
          await devsysProcess(redis.url, github.url),
          await devsysProcess(redis.url, github.url),
        ]
        const [a, b] = [await first.installation(), await second.installation()]
        const label = (name: string) => ({ owner: 'octo', repo: 'blog', name, color: 'ededed' })
        await Promise.all([
          a.request('POST /repos/{owner}/{repo}/labels', label('a')),
          b.request('POST /repos/{owner}/{repo}/labels', label('b')),
        ])
        const [one, two] = github.arrivals.map((r) => r.at).sort((x, y) => x - y)
        expect((two ?? 0) - (one ?? 0)).toBeGreaterThanOrEqual(900)
        expect(await redis.client().keys('b_octokit-write-42_*')).not.toEqual([])
        // The app's own client (JWT) is throttled through Redis as well.
        const app = await first.probot.auth()
        expect((await app.request('GET /app')).status).toBe(200)
        expect(await redis.client().keys('b_octokit-global-no-id_*')).not.toEqual([])
      } finally {
        await github.close()
      }
    })

    it('without Redis at start: works with local throttling, warns, and shares once Redis answers', async () => {
      const port = await freePort()
      const url = `redis://:hunter2-secret@127.0.0.1:${port}`
      const github = await startGitHub()
      try {
        const [first, second] = [
          await devsysProcess(url, github.url, { connectTimeoutMs: 300 }),
          await devsysProcess(url, github.url, { connectTimeoutMs: 300 }),
        ]
        expect(first.limits.shared()).toBe(false)
        expect(first.warnings()).toEqual([
          expect.stringMatching(
            new RegExp(
              `^Redis at 127\\.0\\.0\\.1:${port} \\(REDIS_URL\\) does not answer .*this process throttles its GitHub requests on its own`,
            ),
          ),
        ])
        expect(first.warnings().join('\n')).not.toContain('hunter2')

        // Each process throttles on its own: their writes are not spaced against each other.
        const [a, b] = [await first.installation(), await second.installation()]
        const label = (name: string) => ({ owner: 'octo', repo: 'blog', name, color: 'ededed' })
        await Promise.all([
          a.request('POST /repos/{owner}/{repo}/labels', label('a')),
          b.request('POST /repos/{owner}/{repo}/labels', label('b')),
        ])
        const [one, two] = github.arrivals.map((r) => r.at).sort((x, y) => x - y)
        expect((two ?? 0) - (one ?? 0)).toBeLessThan(900)

        // Redis comes up: the clients share again.
        const late = await startRedisOn(port)
        try {
          await until(() => first.limits.shared(), 10_000)
          const issue = await a.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
            owner: 'octo',
            repo: 'blog',
            issue_number: 2,
          })
          expect(issue.status).toBe(200)
          expect(await late.keys('b_octokit-global-42_*')).not.toEqual([])
        } finally {
          late.disconnect()
          await late.stopServer()
        }
      } finally {
        await github.close()
      }
    })

    it('when Redis dies mid-run: requests, waiting ones included, still go out, with a warning', async () => {
      const github = await startGitHub()
      try {
        const one = await devsysProcess(redis.url, github.url)
        const client = await one.installation()
        const label = (name: string) =>
          client.request('POST /repos/{owner}/{repo}/labels', {
            owner: 'octo',
            repo: 'blog',
            name,
            color: 'ededed',
          })
        expect((await label('before')).status).toBe(200)
        expect(await redis.client().keys('b_octokit-write-42_*')).not.toEqual([])

        // The next write waits a second in Redis's limiter; Redis dies meanwhile.
        const waiting = label('waiting')
        await new Promise((resolve) => setTimeout(resolve, 200))
        await redis.kill()
        expect((await waiting).status).toBe(200)
        expect((await label('after')).status).toBe(200)
        expect(github.arrivals.map((r) => r.path)).toEqual([
          '/repos/octo/blog/labels',
          '/repos/octo/blog/labels',
          '/repos/octo/blog/labels',
        ])
        expect(one.limits.shared()).toBe(false)
        expect(one.warnings()).toEqual([expect.stringContaining('does not answer')])
        // The waiting write moved from Redis's limiter to this process's.
        expect(one.debugs()).toContain('request throttled in this process: Redis does not answer')
      } finally {
        await github.close()
      }
    })

    it('when Redis hangs without closing its connections: requests still go out', async () => {
      const github = await startGitHub()
      try {
        const one = await devsysProcess(redis.url, github.url, { commandTimeoutMs: 300 })
        const client = await one.installation()
        const get = () =>
          client.request('GET /repos/{owner}/{repo}', { owner: 'octo', repo: 'blog' })
        expect((await get()).status).toBe(200)
        redis.freeze()
        try {
          const started = Date.now()
          expect((await get()).status).toBe(200)
          expect(Date.now() - started).toBeLessThan(5000)
          // It counts as down (so later requests do not wait for it) and says so.
          await until(() => !one.limits.shared())
          expect(one.warnings()).toEqual([expect.stringContaining('Command timed out')])
          expect((await get()).status).toBe(200)
        } finally {
          redis.thaw()
        }
        expect(github.arrivals).toHaveLength(3)
        await until(() => one.limits.shared(), 10_000)
      } finally {
        await github.close()
      }
    })
  },
)

/** A second redis-server on `port`, for the test where Redis comes up late. */
async function startRedisOn(port: number) {
  const { spawn } = await import('node:child_process')
  const { Redis } = await import('ioredis')
  const child = spawn('redis-server', [
    ...['--save', '', '--port', String(port), '--bind', '127.0.0.1'],
    ...['--requirepass', 'hunter2-secret'],
  ])
  const client = new Redis(`redis://:hunter2-secret@127.0.0.1:${port}`, { maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  await until(() => client.status === 'ready', 10_000)
  return {
    keys: (pattern: string) => client.keys(pattern),
    disconnect: () => client.disconnect(),
    stopServer: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    },
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
