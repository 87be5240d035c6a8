/**
 * Named tokens, roles, scopes and the audit log, through the HTTP API of a started DevSys
 * (receiver role: jobs the API queues stay queued), its SQLite file read directly.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import nock from 'nock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devsys, startDevsys } from '../../src/boot.js'
import { createLogger } from '../../src/logger.js'
import { testPrivateKey } from '../helpers/github.js'
import { type HttpAnswer, httpRequest } from '../helpers/http.js'
import { freePort } from '../helpers/services.js'

const BOOTSTRAP = 'access-bootstrap-token-0123456789'
const HEAD = 'a'.repeat(40)
const MANIFEST = (id: string) =>
  JSON.stringify({
    id,
    title: 'Hello site',
    stack: 'php',
    stories: [{ as: 'visitor', want: 'a greeting' }],
    acceptance: [{ path: '/' }],
  })

interface Body {
  token: string
  apiToken: { id: number; name: string; lastUsedAt: string | null; [k: string]: unknown }
  tokens: Array<Record<string, unknown>>
  tasks: Array<{ id: string; repo: string | null }>
  deployments: Array<{ repo: string; environment: string }>
  events: Array<{
    id: number
    actor: string
    via: string
    action: string
    result: string | null
    requestId: string | null
    sourceIp: string | null
    target: { repo: string | null; task: string | null; environment: string | null }
    [k: string]: unknown
  }>
  next: string | null
  error: { code: string; message: string }
}

let devsys: Devsys
let dataDir: string
let base: string
/** DevSys's own logger (as `npm start` builds it), at debug, its lines kept for checking. */
const lines: string[] = []
const logs = {
  log: createLogger('debug', { write: (line: string) => lines.push(line) }, 'json'),
  lines,
}
/** Every token issued in this file, to prove none is ever written anywhere. */
const issued: string[] = []

function call(
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return httpRequest(`${base}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

async function createToken(spec: Record<string, unknown>): Promise<{ token: string; id: number }> {
  const answer = await call(BOOTSTRAP, 'POST', '/api/tokens', spec)
  expect(answer.status, answer.text).toBe(201)
  const body = answer.json<Body>()
  issued.push(body.token)
  return { token: body.token, id: body.apiToken.id }
}

/** A task from an issue, with pushed code, so that it can be deployed. */
async function issueTask(repo: string, id: string) {
  await devsys.store.saveTask({
    id,
    title: 'Hello site',
    source: {
      kind: 'issue',
      repo,
      issue: 1,
      key: `issue:${repo}#1`,
      requester: 'mona',
      installationId: 7,
    },
    manifestText: MANIFEST(id),
    spec: 'spec',
  })
  await devsys.store.setTaskCode(
    { repo, id },
    { branch: `devsys/${id}`, headSha: HEAD, pullRequest: { number: 5, url: 'https://x/5' } },
    'test',
  )
}

function sql<T>(statement: string): T[] {
  const db = new Database(join(dataDir, 'devsys.sqlite'), { readonly: true })
  try {
    return db.prepare(statement).all() as T[]
  } finally {
    db.close()
  }
}

let viewer: { token: string; id: number }
let operator: { token: string; id: number }
let scoped: { token: string; id: number }
let scopedViewer: { token: string; id: number }
let admin: { token: string; id: number }

beforeAll(async () => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  dataDir = mkdtempSync(join(tmpdir(), 'devsys-access-'))
  const port = await freePort()
  devsys = await startDevsys({
    env: {
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: 'access-webhook-secret',
      MANAGER_API_TOKEN: BOOTSTRAP,
      DEVSYS_ROLE: 'receiver',
      REDELIVERY_INTERVAL_SECONDS: '0',
    },
    log: logs.log,
  })
  base = `http://127.0.0.1:${port}`
  await issueTask('octo-org/hello-world', 'hello-site')
  await issueTask('other-org/secret', 'hidden')
  viewer = await createToken({ name: 'viewer', role: 'viewer' })
  operator = await createToken({ name: 'operator', role: 'operator' })
  admin = await createToken({ name: 'admin', role: 'admin', expiresInDays: 7 })
  scoped = await createToken({
    name: 'octo-staging',
    role: 'operator',
    repos: ['octo-org/*'],
    environments: ['staging', 'review-*'],
  })
  scopedViewer = await createToken({
    name: 'octo-viewer',
    role: 'viewer',
    repos: ['OCTO-ORG/hello-*'],
  })
}, 60_000)

afterAll(async () => {
  await devsys?.stop()
  rmSync(dataDir, { recursive: true, force: true })
  nock.cleanAll()
  nock.enableNetConnect()
})

describe('named API tokens', () => {
  it('is shown once, with a dsy_ prefix; only its SHA-256 is stored, and lists never show it', async () => {
    expect(viewer.token).toMatch(/^dsy_[A-Za-z0-9_-]{43}$/)
    const rows = sql<Record<string, unknown>>(`SELECT * FROM api_tokens WHERE id = ${viewer.id}`)
    expect(rows[0]?.hash).toBe(createHash('sha256').update(viewer.token).digest('hex'))
    const everything = JSON.stringify(sql('SELECT * FROM api_tokens'))
    for (const token of issued) expect(everything).not.toContain(token.slice(4))
    const list = await call(admin.token, 'GET', '/api/tokens')
    expect(list.status).toBe(200)
    const names = list.json<Body>().tokens.map((t) => t.name)
    expect(names).toEqual(['viewer', 'operator', 'admin', 'octo-staging', 'octo-viewer'])
    expect(list.text).not.toContain('hash')
    for (const token of issued) expect(list.text).not.toContain(token)
    // The same name twice is refused.
    const again = await call(BOOTSTRAP, 'POST', '/api/tokens', { name: 'viewer', role: 'viewer' })
    expect(again.status).toBe(409)
  })

  it('records when a token was last used', async () => {
    const before = sql<{ last_used_at: string | null }>(
      `SELECT last_used_at FROM api_tokens WHERE id = ${operator.id}`,
    )[0]?.last_used_at
    expect((await call(operator.token, 'GET', '/api/tasks')).status).toBe(200)
    const after = sql<{ last_used_at: string | null }>(
      `SELECT last_used_at FROM api_tokens WHERE id = ${operator.id}`,
    )[0]?.last_used_at
    expect(after).not.toBeNull()
    expect(after).not.toBe(before)
  })

  it('refuses an unknown, a revoked and an expired token with 401 saying which', async () => {
    expect((await call('dsy_not-a-token-at-all-0123456789', 'GET', '/api/tasks')).status).toBe(401)
    const doomed = await createToken({ name: 'doomed', role: 'viewer' })
    expect((await call(doomed.token, 'GET', '/api/tasks')).status).toBe(200)
    const revoke = await call(viewer.token, 'DELETE', `/api/tokens/${doomed.id}`)
    expect(revoke.status).toBe(403)
    expect((await call(BOOTSTRAP, 'DELETE', `/api/tokens/${doomed.id}`)).status).toBe(200)
    const revoked = await call(doomed.token, 'GET', '/api/tasks')
    expect(revoked.status).toBe(401)
    expect(revoked.json<Body>().error.code).toBe('token_revoked')
    expect((await call(BOOTSTRAP, 'DELETE', '/api/tokens/9999')).status).toBe(404)

    const stale = 'dsy_expired-token-for-this-test-0123456789'
    issued.push(stale)
    await devsys.store.createApiToken({
      name: 'stale',
      role: 'admin',
      repos: ['*'],
      environments: ['*'],
      createdBy: 'test',
      expiresAt: new Date(Date.now() - 1000).toISOString(),
      hash: createHash('sha256').update(stale).digest('hex'),
    })
    const expired = await call(stale, 'GET', '/api/tasks')
    expect(expired.status).toBe(401)
    expect(expired.json<Body>().error.code).toBe('token_expired')
    expect(expired.json<Body>().error.message).toContain("'stale' expired at")
  })

  it('refuses a token request that is not valid, saying what to fix', async () => {
    const answer = await call(BOOTSTRAP, 'POST', '/api/tokens', {
      name: 'bad name',
      role: 'root',
      repos: [],
      expiresAt: '2000-01-01T00:00:00Z',
    })
    expect(answer.status).toBe(422)
    const message = answer.json<Body>().error.message
    expect(message).toContain('"name"')
    expect(message).toContain('"role" must be one of viewer, operator, admin')
    expect(message).toContain('"repos"')
    expect(message).toContain('"expiresAt" must be a future ISO time')
  })
})

describe('roles: every route allows or refuses each role', () => {
  const task = '/api/tasks/hello-site?repo=octo-org/hello-world'
  const routes: Array<{
    method: string
    path: string
    body?: unknown
    least: 'viewer' | 'operator' | 'admin'
  }> = [
    { method: 'GET', path: '/api/tasks', least: 'viewer' },
    { method: 'GET', path: task, least: 'viewer' },
    {
      method: 'GET',
      path: '/api/tasks/hello-site/deploys?repo=octo-org/hello-world',
      least: 'viewer',
    },
    { method: 'GET', path: '/api/deploys', least: 'viewer' },
    { method: 'GET', path: '/api/audit', least: 'viewer' },
    { method: 'GET', path: '/api/notifications', least: 'viewer' },
    { method: 'PATCH', path: task, body: { status: 'in_progress' }, least: 'operator' },
    {
      method: 'POST',
      path: '/api/tasks/hello-site/deploy?repo=octo-org/hello-world',
      body: { environment: 'staging' },
      least: 'operator',
    },
    {
      method: 'POST',
      path: '/api/tasks/hello-site/rollback?repo=octo-org/hello-world',
      body: { environment: 'staging' },
      least: 'operator',
    },
    { method: 'GET', path: '/api/tokens', least: 'admin' },
    { method: 'DELETE', path: '/api/tokens/9999', least: 'admin' },
  ]
  const rank = { viewer: 0, operator: 1, admin: 2 }
  for (const route of routes) {
    it(`${route.method} ${route.path.split('?')[0]} needs ${route.least}`, async () => {
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const token = { viewer, operator, admin }[role].token
        const answer = await call(token, route.method, route.path, route.body)
        if (rank[role] >= rank[route.least]) {
          expect(answer.status, `${role}: ${answer.text}`).not.toBe(403)
          expect(answer.status, `${role}: ${answer.text}`).toBeLessThan(
            route.method === 'DELETE' ? 405 : 300,
          )
        } else {
          expect(answer.status, role).toBe(403)
          const error = answer.json<Body>().error
          expect(error.code).toBe('forbidden_role')
          expect(error.message).toContain(`needs the ${route.least} role`)
        }
      }
    })
  }

  it('POST /api/tasks needs operator', async () => {
    const manifest = MANIFEST('made-by-api')
    const post = (token: string) =>
      httpRequest(`${base}/api/tasks?repo=octo-org/hello-world`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: manifest,
      })
    expect((await post(viewer.token)).status).toBe(403)
    const created = await post(operator.token)
    expect(created.status).toBe(201)
    expect(created.json<{ task: { source: { requester: string } } }>().task.source.requester).toBe(
      'token:operator',
    )
  })

  it('the notification log takes a token for every repository; test sends need admin', async () => {
    const refused = await call(scopedViewer.token, 'GET', '/api/notifications')
    expect(refused.status).toBe(403)
    expect(refused.json<Body>().error.message).toContain('all repositories and environments')
    for (const token of [viewer.token, operator.token]) {
      const test = await call(token, 'POST', '/api/notifications/test', {})
      expect(test.status).toBe(403)
      expect(test.json<Body>().error.code).toBe('forbidden_role')
    }
    // An admin gets through to the handler: this server has no destination to send to.
    const sent = await call(admin.token, 'POST', '/api/notifications/test', {})
    expect(sent.status).toBe(409)
    expect(sent.json<Body>().error.code).toBe('no_destinations')
  })

  it('/metrics takes a viewer for every repository, not a scoped token', async () => {
    const metrics = (token: string) => call(token, 'GET', '/metrics')
    expect((await metrics(viewer.token)).status).toBe(200)
    expect((await metrics(BOOTSTRAP)).status).toBe(200)
    const refused = await metrics(scopedViewer.token)
    expect(refused.status).toBe(403)
    expect(refused.json<Body>().error.message).toContain('all repositories and environments')
  })
})

describe('scopes: repository and environment globs', () => {
  it('hides other repositories: 404 for their tasks, filtered lists', async () => {
    const other = await call(scoped.token, 'GET', '/api/tasks/hidden?repo=other-org/secret')
    expect(other.status).toBe(404)
    expect(other.json<Body>().error.code).toBe('task_not_found')
    // Without ?repo, the id is looked up among the repositories the token sees only.
    expect((await call(scoped.token, 'GET', '/api/tasks/hidden')).status).toBe(404)
    expect(
      (await call(scoped.token, 'POST', '/api/tasks/hidden/deploy', { environment: 'staging' }))
        .status,
    ).toBe(404)
    const list = await call(scoped.token, 'GET', '/api/tasks')
    expect(list.json<Body>().tasks.map((t) => t.repo)).not.toContain('other-org/secret')
    expect(list.json<Body>().tasks.map((t) => t.id)).toContain('hello-site')
    // Globs match repository names case-insensitively, as GitHub does.
    const mine = await call(
      scopedViewer.token,
      'GET',
      '/api/tasks/hello-site?repo=octo-org/hello-world',
    )
    expect(mine.status).toBe(200)
    const all = await call(BOOTSTRAP, 'GET', '/api/tasks')
    expect(all.json<Body>().tasks.map((t) => t.repo)).toContain('other-org/secret')
  })

  it('deploys only to its environments, saying which it may use', async () => {
    const path = '/api/tasks/hello-site/deploy?repo=octo-org/hello-world'
    expect((await call(scoped.token, 'POST', path, { environment: 'staging' })).status).toBe(202)
    expect((await call(scoped.token, 'POST', path, { environment: 'review-42' })).status).toBe(202)
    const production = await call(scoped.token, 'POST', path, { environment: 'production' })
    expect(production.status).toBe(403)
    expect(production.json<Body>().error.code).toBe('forbidden_environment')
    expect(production.json<Body>().error.message).toContain(
      `may not act on environment 'production'`,
    )
    expect(production.json<Body>().error.message).toContain('["staging","review-*"]')
    const unnamed = await call(scoped.token, 'POST', path, {})
    expect(unnamed.status).toBe(403)
    expect(unnamed.json<Body>().error.message).toContain('name one in "environment"')
    const elsewhere = await httpRequest(`${base}/api/tasks?repo=other-org/secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scoped.token}`, 'content-type': 'application/json' },
      body: MANIFEST('sneaky'),
    })
    expect(elsewhere.status).toBe(403)
    expect(elsewhere.json<Body>().error.code).toBe('forbidden_scope')
    // Token management needs a token for everything, even an admin's.
    expect((await call(scoped.token, 'GET', '/api/tokens')).status).toBe(403)
  })

  it('filters the deploy history by repository and environment', async () => {
    const base = {
      taskId: 'x',
      actor: 'mona',
      ref: 'main',
      trigger: 'merge',
      commitSha: HEAD,
    } as const
    await devsys.store.createDeployment({
      ...base,
      repo: 'octo-org/hello-world',
      environment: 'staging',
    })
    await devsys.store.createDeployment({
      ...base,
      repo: 'octo-org/hello-world',
      environment: 'production',
    })
    await devsys.store.createDeployment({
      ...base,
      repo: 'other-org/secret',
      environment: 'staging',
    })
    const seen = (await call(scoped.token, 'GET', '/api/deploys')).json<Body>().deployments
    expect(seen.map((d) => `${d.repo}:${d.environment}`)).toEqual(['octo-org/hello-world:staging'])
    const everything = (await call(viewer.token, 'GET', '/api/deploys')).json<Body>().deployments
    expect(everything).toHaveLength(3)
  })
})

describe('audit log', () => {
  it('records an API deploy: actor, via, target, request id, source IP, result', async () => {
    const deploy = await call(
      operator.token,
      'POST',
      '/api/tasks/hello-site/deploy?repo=octo-org/hello-world',
      { environment: 'staging' },
      { 'x-request-id': 'req-deploy-1' },
    )
    expect(deploy.status).toBe(202)
    expect(deploy.headers['x-request-id']).toBe('req-deploy-1')
    const answer = await call(
      viewer.token,
      'GET',
      '/api/audit?actor=token:operator&action=deploy&limit=1',
    )
    expect(answer.status).toBe(200)
    expect(answer.json<Body>().events).toEqual([
      expect.objectContaining({
        actor: 'token:operator',
        via: 'api',
        action: 'deploy',
        subject: 'task:octo-org/hello-world#hello-site',
        target: {
          repo: 'octo-org/hello-world',
          task: 'hello-site',
          environment: 'staging',
          release: null,
        },
        requestId: 'req-deploy-1',
        sourceIp: expect.stringMatching(/127\.0\.0\.1$/),
        result: 'accepted',
        details: { commit: HEAD, dryRun: false, job: expect.any(String) },
      }),
    ])
  })

  it('records refused changes, token changes and status changes with before and after', async () => {
    await call(viewer.token, 'POST', '/api/tasks/hello-site/rollback?repo=octo-org/hello-world', {})
    const denied = (
      await call(BOOTSTRAP, 'GET', '/api/audit?actor=token:viewer&action=rollback')
    ).json<Body>().events
    expect(denied[0]).toMatchObject({
      via: 'api',
      result: 'denied',
      action: 'rollback',
      target: { repo: 'octo-org/hello-world' },
    })

    await call(operator.token, 'PATCH', '/api/tasks/hello-site?repo=octo-org/hello-world', {
      status: 'blocked',
    })
    const [status] = (
      await call(viewer.token, 'GET', '/api/audit?action=task.status&actor=token:operator')
    ).json<Body>().events
    expect(status).toMatchObject({ after: { status: 'blocked' }, result: 'ok', via: 'api' })
    expect(status?.before).toEqual({ status: expect.any(String) })

    const tokens = (await call(BOOTSTRAP, 'GET', '/api/audit?action=token.*')).json<Body>().events
    expect(tokens.map((e) => `${e.action} ${e.actor}`)).toEqual(
      expect.arrayContaining(['token.create manager-api', 'token.revoke manager-api']),
    )
  })

  it('filters by repository, actor, action, time and limit, and pages with next', async () => {
    const since = new Date(Date.now() + 60_000).toISOString()
    expect(
      (await call(viewer.token, 'GET', `/api/audit?since=${since}`)).json<Body>().events,
    ).toEqual([])
    const page = (await call(viewer.token, 'GET', '/api/audit?limit=2')).json<Body>()
    expect(page.events).toHaveLength(2)
    expect(page.next).toMatch(/^\/api\/audit\?limit=2&before=\d+$/)
    const second = (await call(viewer.token, 'GET', page.next as string)).json<Body>()
    expect((second.events[0]?.id ?? 0) < (page.events[1]?.id ?? 0)).toBe(true)
    const octo = (
      await call(viewer.token, 'GET', '/api/audit?repo=octo-org/hello-world')
    ).json<Body>().events
    expect(octo.length).toBeGreaterThan(0)
    expect(new Set(octo.map((e) => e.target.repo))).toEqual(new Set(['octo-org/hello-world']))
    expect((await call(viewer.token, 'GET', '/api/audit?since=yesterday')).status).toBe(400)
  })

  it('shows a scoped token only the records of its repositories and environments', async () => {
    const events = (await call(scoped.token, 'GET', '/api/audit?limit=1000')).json<Body>().events
    expect(events.length).toBeGreaterThan(0)
    for (const e of events) {
      expect(e.target.repo).toMatch(/^octo-org\//)
      if (e.target.environment !== null)
        expect(['staging', 'review-42']).toContain(e.target.environment)
    }
    expect(
      (await call(scoped.token, 'GET', '/api/audit?repo=other-org/secret')).json<Body>().events,
    ).toEqual([])
  })

  it('never holds a token, nor does any log line', async () => {
    const audit = JSON.stringify(sql('SELECT * FROM audit'))
    const logged = logs.lines.join('\n')
    for (const secret of [...issued, BOOTSTRAP]) {
      expect(audit).not.toContain(secret)
      expect(logged).not.toContain(secret)
    }
    expect(issued.length).toBeGreaterThan(5)
    // The log did record the requests, without their tokens.
    expect(logged).toContain('/api/tokens')
  })

  it('refuses UPDATE and DELETE on the audit table in the database itself', () => {
    const db = new Database(join(dataDir, 'devsys.sqlite'))
    try {
      expect(() => db.prepare("UPDATE audit SET actor = 'mallory'").run()).toThrow(/append-only/)
      expect(() => db.prepare('DELETE FROM audit').run()).toThrow(/append-only/)
    } finally {
      db.close()
    }
  })
})
