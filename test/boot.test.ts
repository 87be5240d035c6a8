import { execFile } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import nock from 'nock'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { apiTokenPath } from '../src/api/ensure-api-token.js'
import { ConfigError, type Devsys, startDevsys } from '../src/boot.js'
import { createLogger } from '../src/logger.js'
import { openPostgresStore } from '../src/store/postgres-store.js'
import { testLogger, testPrivateKey } from './helpers/github.js'
import { httpRequest } from './helpers/http.js'
import { createTestDatabase, requirePostgres, type TestDatabase } from './helpers/postgres.js'
import { examplePayload } from './helpers/payloads.js'
import { testLabel } from './intake/harness.js'

const SECRET = 'boot-test-secret'
let devsys: Devsys | undefined
const dirs: string[] = []

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

async function start(env: Record<string, string>, log = testLogger()): Promise<Devsys> {
  const dataDir = mkdtempSync(join(tmpdir(), 'devsys-boot-'))
  dirs.push(dataDir)
  devsys = await startDevsys({
    env: { DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(await freePort()), ...env },
    log,
  })
  return devsys
}

function appEnv(extra: Record<string, string> = {}) {
  return { APP_ID: '1', PRIVATE_KEY: testPrivateKey(), WEBHOOK_SECRET: SECRET, ...extra }
}

async function sendWebhook(
  port: number,
  event: string,
  payload: object,
  opts: { delivery?: string; secret?: string; path?: string } = {},
) {
  const body = JSON.stringify(payload)
  const signature = `sha256=${createHmac('sha256', opts.secret ?? SECRET)
    .update(body)
    .digest('hex')}`
  return httpRequest(`http://127.0.0.1:${port}${opts.path ?? '/api/github/webhooks'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': opts.delivery ?? randomUUID(),
      'x-hub-signature-256': signature,
    },
    body,
  })
}

afterEach(async () => {
  await devsys?.stop()
  devsys = undefined
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  nock.cleanAll()
  nock.enableNetConnect()
})

describe('startDevsys', () => {
  it('without credentials serves the registration page (with the logged token) and the manager API', async () => {
    const lines: string[] = []
    const dataDir = mkdtempSync(join(tmpdir(), 'devsys-boot-'))
    dirs.push(dataDir)
    devsys = await startDevsys({
      env: { DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(await freePort()) },
      log: createLogger('info', { write: (line: string) => lines.push(line) }),
    })
    const { port, mode } = devsys
    expect(mode).toBe('setup')
    const setupToken = /\/probot\?token=([\w-]+)/.exec(lines.join(''))?.[1]
    const page = await httpRequest(`http://127.0.0.1:${port}/probot`, {
      headers: { cookie: `devsys_setup=${setupToken}` },
    })
    expect(page.status).toBe(200)
    expect(page.text).toContain('Register GitHub App')
    const health = await httpRequest(`http://127.0.0.1:${port}/api/health`)
    expect(health.json()).toEqual({ status: 'ok' })
    const token = readFileSync(apiTokenPath(devsys?.config.dataDir ?? ''), 'utf8').trim()
    const authorization = `Bearer ${token}`
    const tasks = await httpRequest(`http://127.0.0.1:${port}/api/tasks`, {
      headers: { authorization },
    })
    expect(tasks.status).toBe(200)
  })

  it('without MANAGER_API_TOKEN generates one in DATA_DIR (0600), logs where, never what, and reuses it', async () => {
    const lines: string[] = []
    const log = createLogger('info', { write: (line: string) => lines.push(line) })
    const dataDir = mkdtempSync(join(tmpdir(), 'devsys-boot-'))
    dirs.push(dataDir)
    const env = { DATA_DIR: dataDir, HOST: '127.0.0.1', ...appEnv({ DEVSYS_WORKER: 'off' }) }
    devsys = await startDevsys({ env: { ...env, PORT: String(await freePort()) }, log })
    const file = apiTokenPath(dataDir)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const token = readFileSync(file, 'utf8').trim()
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    const url = `http://127.0.0.1:${devsys.port}/api/tasks`
    // From loopback, without the token: refused like from anywhere else.
    expect((await httpRequest(url)).status).toBe(401)
    expect((await httpRequest(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    )
    const logged = lines.join('')
    expect(logged).toContain(file)
    expect(logged).not.toContain(token)

    // A restart over the same DATA_DIR keeps the token: tools configured with it keep working.
    await devsys.stop()
    devsys = await startDevsys({ env: { ...env, PORT: String(await freePort()) }, log })
    expect(readFileSync(file, 'utf8').trim()).toBe(token)
    const again = `http://127.0.0.1:${devsys.port}/api/tasks`
    expect((await httpRequest(again, { headers: { 'x-api-token': token } })).status).toBe(200)
    expect((await httpRequest(again, { headers: { 'x-api-token': `${token}0` } })).status).toBe(401)
  })

  it('stores one job per signed delivery, refuses bad signatures and ignores redeliveries', async () => {
    const { port, queue } = await start(appEnv({ DEVSYS_WORKER: 'off' }))
    const payload = examplePayload('issues', 'labeled')
    const first = await sendWebhook(port, 'issues', payload, { delivery: 'd-1' })
    expect(first.status).toBe(200)
    expect((await sendWebhook(port, 'issues', payload, { delivery: 'd-1' })).status).toBe(200)
    const forged = await sendWebhook(port, 'issues', payload, { delivery: 'd-2', secret: 'wrong' })
    expect(forged.status).toBe(400)
    // Registration points GitHub at the server root: deliveries there are received too.
    const other = examplePayload('issues', 'labeled', (p) => {
      p.issue.number = 2
    })
    expect((await sendWebhook(port, 'issues', other, { delivery: 'd-3', path: '/' })).status).toBe(
      200,
    )
    const jobs = await queue.listJobs()
    expect(jobs.map((j) => j.deliveryId).sort()).toEqual(['d-1', 'd-3'])
    expect(await queue.hasDelivery('d-2')).toBe(false)
  })

  it('reports every bad variable at once, without echoing secrets', async () => {
    const error = await start({
      PORT: 'eighty',
      APP_ID: 'abc',
      MANAGER_API_TOKEN: 'short-secret',
      TEST_RUNNER: 'kubernetes',
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    const { errors, message } = error as ConfigError
    expect(errors.some((e) => e.includes('PORT'))).toBe(true)
    expect(errors.some((e) => e.includes('APP_ID'))).toBe(true)
    expect(errors.some((e) => e.includes('MANAGER_API_TOKEN'))).toBe(true)
    expect(errors.some((e) => e.includes('TEST_RUNNER'))).toBe(true)
    expect(message).not.toContain('short-secret')
  })

  it('talks to GitHub Enterprise Server when GHE_HOST is set', async () => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
    const ghe = nock('https://ghe.example.test/api/v3')
      .post('/app/installations/1234/access_tokens')
      .reply(201, {
        token: 'ghs_ghe000000000000000000000000000000',
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
      })
      .get('/repos/Codertocat/Hello-World/contents/.github%2Fdevsys.yml')
      .reply(200, {
        type: 'file',
        encoding: 'base64',
        size: 14,
        content: Buffer.from('label: other\n').toString('base64'),
      })
    const { port, queue } = await start(appEnv({ GHE_HOST: 'ghe.example.test' }))
    const payload = examplePayload('issues', 'labeled', (p) => {
      p.label = testLabel('devsys')
    })
    expect((await sendWebhook(port, 'issues', payload)).status).toBe(200)
    await queue.drain()
    expect(ghe.isDone()).toBe(true)
    const [job] = await queue.listJobs()
    expect(job?.outcome).toMatchObject({ status: 'skipped', reason: 'not-labelled' })
  })

  it('asks GitHub Enterprise Server, not api.github.com, for the token git pushes with', async () => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
    // The revert job's first steps: an installation token for git, then the app's identity.
    const ghe = nock('http://ghe.example.test/api/v3')
      .post('/app/installations/1234/access_tokens')
      .reply(201, {
        token: 'ghs_ghe111111111111111111111111111111',
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
      })
      .get('/app')
      .reply(404, { message: 'stop here' })
    const { queue } = await start(
      appEnv({ GHE_HOST: 'ghe.example.test', GHE_PROTOCOL: 'http', JOB_MAX_ATTEMPTS: '1' }),
    )
    await queue.enqueue({
      kind: 'revert',
      key: 'revert:ghe',
      payload: {
        installationId: 1234,
        repo: {
          owner: 'Codertocat',
          name: 'Hello-World',
          fullName: 'Codertocat/Hello-World',
          cloneUrl: 'http://ghe.example.test/Codertocat/Hello-World.git',
          htmlUrl: 'http://ghe.example.test/Codertocat/Hello-World',
          defaultBranch: 'main',
        },
        sha: 'a'.repeat(40),
        deployment: 1,
        environment: 'production',
        reason: 'test',
        actor: 'Codertocat',
      },
    })
    await queue.drain()
    expect(ghe.pendingMocks()).toEqual([])
    const [job] = await queue.listJobs()
    expect(job?.lastError).toContain('stop here')
  })

  it('receives a fixture replayed with the README command, and ignores its redelivery', async () => {
    const { port, queue } = await start(appEnv({ DEVSYS_WORKER: 'off' }))
    const replay = (delivery: string) =>
      promisify(execFile)(
        'npx',
        [
          'tsx',
          'src/cli/replay-webhook.ts',
          'issues',
          'test/fixtures/webhooks/issues.labeled.json',
          '--url',
          `http://127.0.0.1:${port}/api/github/webhooks`,
          '--delivery',
          delivery,
        ],
        { env: { ...process.env, WEBHOOK_SECRET: SECRET } },
      )
    const { stdout } = await replay('replayed-1')
    expect(stdout).toContain('delivery replayed-1: 200')
    await replay('replayed-1')
    const jobs = await queue.listJobs()
    expect(jobs).toHaveLength(1)
    expect(jobs[0]).toMatchObject({ kind: 'intake-issue', deliveryId: 'replayed-1' })
    expect(JSON.stringify(jobs[0]?.payload)).toContain('create-blog')
  })

  it('never logs the manager API token or webhook signatures', async () => {
    const lines: string[] = []
    const log = createLogger('info', { write: (line: string) => lines.push(line) })
    const token = 'manager-token-never-logged-0123'
    const dataDir = mkdtempSync(join(tmpdir(), 'devsys-boot-'))
    dirs.push(dataDir)
    devsys = await startDevsys({
      env: {
        DATA_DIR: dataDir,
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        MANAGER_API_TOKEN: token,
        ...appEnv({ DEVSYS_WORKER: 'off' }),
      },
      log,
    })
    const api = await httpRequest(`http://127.0.0.1:${devsys.port}/api/tasks`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(api.status).toBe(200)
    await httpRequest(`http://127.0.0.1:${devsys.port}/api/tasks`, {
      headers: { 'x-api-token': token },
    })
    const hook = await sendWebhook(devsys.port, 'issues', examplePayload('issues', 'labeled'))
    expect(hook.status).toBe(200)
    const logged = lines.join('')
    expect(logged).toContain('GET /api/tasks 200') // the requests were logged...
    expect(logged).toContain('[redacted]') // ...with their secret headers censored
    expect(logged).not.toContain(token)
    expect(logged).not.toMatch(/sha256=[0-9a-f]{64}/)
  })
})

const postgres = await requirePostgres('boots DevSys on a PostgreSQL store')

describe('startDevsys with DATABASE_URL', () => {
  it('fails at boot when PostgreSQL cannot be reached, naming the server but never the password', async () => {
    const lines: string[] = []
    const log = createLogger('info', { write: (line: string) => lines.push(line) })
    const port = await freePort()
    const password = 'pg-password-never-shown-42'
    const error = await start(
      { DATABASE_URL: `postgres://devsys:${password}@127.0.0.1:${port}/devsys` },
      log,
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    const { message } = error as Error
    expect(message).toContain(`Cannot connect to PostgreSQL at devsys@127.0.0.1:${port}/devsys`)
    expect(message).toContain('ECONNREFUSED')
    expect(message).toContain('Check DATABASE_URL')
    expect(message).not.toContain(password)
    expect(lines.join('')).not.toContain(password)
  })

  describe.skipIf(!postgres)('on PostgreSQL', () => {
    let database: TestDatabase | undefined
    afterEach(async () => {
      await devsys?.stop()
      devsys = undefined
      await database?.drop()
      database = undefined
    })

    it('keeps tasks created through the API in PostgreSQL, and logs where the queue stays', async () => {
      database = await createTestDatabase()
      const lines: string[] = []
      const log = createLogger('info', { write: (line: string) => lines.push(line) })
      const token = 'manager-token-for-postgres-boot'
      const { port } = await start({ DATABASE_URL: database.url, MANAGER_API_TOKEN: token }, log)
      const blog = readFileSync(new URL('../specs/create-blog.json', import.meta.url), 'utf8')
      const created = await httpRequest(`http://127.0.0.1:${port}/api/tasks?repo=octo/blog`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: blog,
      })
      expect(created.status).toBe(201)
      const id = (JSON.parse(blog) as { id: string }).id

      // A second client of the same database (another DevSys process) reads the row.
      const other = await openPostgresStore({ url: database.url })
      try {
        expect(await other.getTask({ repo: 'octo/blog', id })).toMatchObject({
          id,
          repo: 'octo/blog',
          status: 'pending',
          manifestText: blog,
        })
      } finally {
        await other.close()
      }
      const logged = lines.join('')
      expect(logged).toContain('PostgreSQL store open')
      expect(logged).toContain('the store is in PostgreSQL')
      // The queue sets up its schema in the background; its line follows once that is done.
      await vi.waitFor(
        () =>
          expect(lines.join('')).toContain('the job queue is pg-boss in the DATABASE_URL database'),
        { timeout: 20_000, interval: 100 },
      )
      expect(logged).not.toContain(new URL(database.url).password)
    })

    it('fails at boot when the queue cannot set up its schema, saying what to grant', async () => {
      database = await createTestDatabase()
      // A user that may use the store's tables in public but not create pg-boss's schema.
      const user = `devsys_noschema_${database.name.slice(-12)}`
      await database.asAdmin(`CREATE ROLE ${user} LOGIN PASSWORD 'no-schema-password'`)
      const dropUser = () => database?.asAdmin(`DROP OWNED BY ${user}; DROP ROLE ${user}`)
      try {
        await database.asAdmin(`GRANT CREATE, USAGE ON SCHEMA public TO ${user}`)
        const url = new URL(database.url)
        url.username = user
        url.password = 'no-schema-password'
        const error = await start({ DATABASE_URL: url.toString() }).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(Error)
        const { message } = error as Error
        expect(message).toContain(
          'The job queue (pg-boss) could not set up its schema devsys_queue in the DATABASE_URL database',
        )
        expect(message).toContain('permission denied for database')
        expect(message).toContain('GRANT CREATE ON DATABASE')
        expect(message).not.toContain('no-schema-password')
      } finally {
        // The store's tables belong to the user: drop them with it, before the database goes.
        await dropUser()
      }
    })

    it('fails at boot on a wrong password, without showing it', async () => {
      database = await createTestDatabase()
      const url = new URL(database.url)
      url.password = 'wrong-password-never-shown'
      const error = await start({ DATABASE_URL: url.toString() }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Error)
      const { message } = error as Error
      expect(message).toContain('Cannot connect to PostgreSQL at')
      expect(message).toContain('password authentication failed')
      expect(message).not.toContain('wrong-password-never-shown')
    })
  })
})
