import nock from 'nock'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Devsys } from '../src/boot.js'
import { createLogger } from '../src/logger.js'
import { sendSignedWebhook, useDevsys } from './helpers/boot-devsys.js'
import { examplePayload } from './helpers/payloads.js'
import { freePort, requireRedis, startTestRedis, type TestRedis } from './helpers/redis.js'
import { testLabel } from './intake/harness.js'

const SECRET = 'boot-redis-test-secret'
const PASSWORD = 'hunter2-redis-pass'
const unhandled: unknown[] = []
const onUnhandled = (error: unknown) => unhandled.push(error)

/** DevSys with app credentials and REDIS_URL, logging into `lines`. */
function start(redisUrl: string, lines: string[]): Promise<Devsys> {
  const log = createLogger('info', { write: (line: string) => lines.push(line) })
  return booted.start({ REDIS_URL: redisUrl }, { log })
}

/** A signed `issues.labeled` delivery, as GitHub sends it. */
function sendLabeled(port: number) {
  const payload = examplePayload('issues', 'labeled', (p) => {
    p.label = testLabel('devsys')
  })
  return sendSignedWebhook(port, SECRET, 'issues', payload)
}

/** GitHub's answers to the intake jobs of `times` `issues.labeled` deliveries (one token). */
function nockIntake(times = 1) {
  return nock('https://api.github.com')
    .post('/app/installations/1234/access_tokens')
    .reply(201, {
      token: 'ghs_boot00000000000000000000000000000',
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
    })
    .get('/repos/Codertocat/Hello-World/contents/.github%2Fdevsys.yml')
    .times(times)
    .reply(200, {
      type: 'file',
      encoding: 'base64',
      size: 14,
      content: Buffer.from('label: other\n').toString('base64'),
    })
}

const warnings = (lines: string[]) =>
  lines
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((l) => l.level === 40)

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtException', onUnhandled)
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  process.off('uncaughtException', onUnhandled)
})
afterEach(async () => {
  nock.cleanAll()
  nock.enableNetConnect()
  expect(unhandled).toEqual([])
})
// Registered after the check above, so that DevSys is stopped before it runs.
const booted = useDevsys(SECRET, 'devsys-boot-redis-')

describe.skipIf(!requireRedis('checks how DevSys runs with REDIS_URL'))('REDIS_URL', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startTestRedis()
  })
  afterAll(async () => {
    await redis.stop()
  })

  it('starts and works with local throttling when Redis does not answer, warning without the password', async () => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
    const github = nockIntake()
    const lines: string[] = []
    const port = await freePort()
    const { port: webPort, queue } = await start(`redis://:${PASSWORD}@127.0.0.1:${port}`, lines)
    expect((await sendLabeled(webPort)).status).toBe(200)
    await queue.drain()
    expect(github.isDone()).toBe(true)
    const [job] = await queue.listJobs()
    expect(job?.outcome).toMatchObject({ status: 'skipped', reason: 'not-labelled' })
    expect(warnings(lines).map((w) => w.msg)).toContainEqual(
      expect.stringContaining(`Redis at 127.0.0.1:${port} (REDIS_URL) does not answer`),
    )
    expect(lines.join('\n')).not.toContain(PASSWORD)
  })

  it('throttles its GitHub clients through Redis, and keeps working when Redis dies', async () => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
    const github = nockIntake(2)
    const lines: string[] = []
    const { port, queue } = await start(redis.url, lines)
    expect((await sendLabeled(port)).status).toBe(200)
    await queue.drain()
    // The installation's client scheduled its request in Probot's limiter, kept in Redis.
    expect(await redis.client().keys('b_octokit-global-1234_*')).not.toEqual([])
    expect(warnings(lines)).toEqual([])

    await redis.kill()
    expect((await sendLabeled(port)).status).toBe(200)
    await queue.drain()
    expect(github.isDone()).toBe(true)
    const jobs = await queue.listJobs()
    expect(jobs.map((j) => j.outcome)).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'not-labelled' }),
      expect.objectContaining({ status: 'skipped', reason: 'not-labelled' }),
    ])
    expect(warnings(lines).map((w) => w.msg)).toEqual([
      expect.stringContaining(`Redis at 127.0.0.1:${redis.port} (REDIS_URL) does not answer`),
    ])
    await redis.start()
  })
})
