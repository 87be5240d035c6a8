import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../src/store/store.js'
import { type ApiServer, startApiServer } from './api-server.js'

const MANIFEST = JSON.stringify({
  id: 'hello-site',
  title: 'Hello site',
  stack: 'php',
  stories: [{ as: 'visitor', want: 'a greeting' }],
  acceptance: [{ path: '/' }],
})
const HEAD = 'a'.repeat(40)

let api: ApiServer

/** The JSON bodies of the deploy routes, loosely typed for assertions. */
interface Answer {
  deployments: Array<{ id: number; trigger: string; task: string | null; [key: string]: unknown }>
  job: { id: string; kind: string; state: string }
  error: { code: string; message: string }
}

async function call(method: string, path: string, body?: unknown) {
  const response = await api.request(`${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return {
    status: response.status,
    location: response.headers.location,
    json: response.json<Answer>(),
  }
}

/** A task from an issue in octo-org/hello-world whose code DevSys pushed. */
async function issueTask(store: Store, id = 'hello-site') {
  await store.saveTask({
    id,
    title: 'Hello site',
    source: {
      kind: 'issue',
      repo: 'octo-org/hello-world',
      issue: 1,
      key: `issue:octo-org/hello-world#1:${id}`,
      requester: 'mona',
      installationId: 7,
    },
    manifestText: MANIFEST.replace('hello-site', id),
    spec: 'spec',
  })
  await store.setTaskCode(
    { repo: 'octo-org/hello-world', id },
    { branch: `devsys/${id}`, headSha: HEAD, pullRequest: { number: 5, url: 'https://x/5' } },
    'test',
  )
}

/** Deploy history as the deploy job writes it: a merge, a failed one, and a rollback. */
async function history(store: Store) {
  const base = {
    repo: 'octo-org/hello-world',
    taskId: 'hello-site',
    actor: 'mona',
    ref: 'main',
  } as const
  const good = await store.createDeployment({
    ...base,
    environment: 'production',
    trigger: 'merge',
    commitSha: '1'.repeat(40),
    releaseId: 'b'.repeat(40),
  })
  await store.updateDeployment(good.id, {
    state: 'success',
    verification: { ok: true },
    url: 'http://127.0.0.1:8080',
  })
  const bad = await store.createDeployment({
    ...base,
    environment: 'production',
    trigger: 'merge',
    commitSha: '2'.repeat(40),
    releaseId: 'c'.repeat(40),
  })
  await store.updateDeployment(bad.id, { state: 'rolled_back', bad: true })
  await store.createDeployment({
    ...base,
    environment: 'production',
    trigger: 'rollback',
    commitSha: '1'.repeat(40),
    releaseId: 'b'.repeat(40),
    rollbackOf: bad.id,
    state: 'success',
  })
  await store.createDeployment({
    ...base,
    taskId: 'other',
    environment: 'staging',
    trigger: 'command',
    commitSha: '3'.repeat(40),
  })
  return { good, bad }
}

describe('manager API: deploys', () => {
  beforeEach(async () => {
    api = await startApiServer()
  })
  afterEach(async () => {
    await api.close()
  })

  it('GET /api/deploys?env= lists an environment’s deployments newest first: who, when, commit, release, verification, rollback of what', async () => {
    const { good, bad } = await history(api.store)
    const { status, json } = await call('GET', '/api/deploys?env=production')
    expect(status).toBe(200)
    expect(json.deployments.map((d) => d.trigger)).toEqual(['rollback', 'merge', 'merge'])
    const [rollback, rolledBack, first] = json.deployments
    expect(rollback).toMatchObject({
      environment: 'production',
      actor: 'mona',
      commit: '1'.repeat(40),
      release: 'b'.repeat(40),
      rollbackOf: bad.id,
      state: 'success',
      createdAt: expect.any(String),
      finishedAt: expect.any(String),
    })
    expect(rolledBack).toMatchObject({ id: bad.id, state: 'rolled_back', bad: true })
    expect(first).toMatchObject({
      id: good.id,
      task: 'hello-site',
      verification: { ok: true },
      url: 'http://127.0.0.1:8080',
    })
    const all = await call('GET', '/api/deploys?limit=2')
    expect(all.json.deployments).toHaveLength(2)
    expect((await call('GET', '/api/deploys?env=staging')).json.deployments).toHaveLength(1)
  })

  it('GET /api/tasks/:id/deploys lists only that task’s deployments', async () => {
    await issueTask(api.store)
    await history(api.store)
    const { status, json } = await call('GET', '/api/tasks/hello-site/deploys')
    expect(status).toBe(200)
    expect(json.deployments).toHaveLength(3)
    expect(json.deployments.every((d) => d.task === 'hello-site')).toBe(true)
    expect((await call('GET', '/api/tasks/nope/deploys')).status).toBe(404)
  })

  it('POST /api/tasks/:id/deploy queues a deploy of the task’s pushed commit and answers 202', async () => {
    await issueTask(api.store)
    const { status, json, location } = await call('POST', '/api/tasks/hello-site/deploy', {
      environment: 'staging',
      dryRun: true,
    })
    expect(status).toBe(202)
    expect(location).toBe('/api/tasks/hello-site/deploys?repo=octo-org/hello-world')
    expect(json.job).toMatchObject({ kind: 'deploy', state: 'queued' })
    const job = await api.queue.getJob(json.job.id)
    expect(job?.payload).toEqual({
      installationId: 7,
      repo: { owner: 'octo-org', name: 'hello-world', fullName: 'octo-org/hello-world' },
      trigger: 'api',
      environment: 'staging',
      sha: HEAD,
      branch: 'devsys/hello-site',
      actor: 'manager-api',
      taskId: 'hello-site',
      dryRun: true,
    })
  })

  it('POST /api/tasks/:id/rollback queues a rollback (an empty body means the task’s environment)', async () => {
    await issueTask(api.store)
    const { status, json } = await call('POST', '/api/tasks/hello-site/rollback')
    expect(status).toBe(202)
    expect((await api.queue.getJob(json.job.id))?.payload).toMatchObject({
      taskId: 'hello-site',
      environment: null,
      trigger: 'api',
      actor: 'manager-api',
    })
  })

  it.each([
    ['POST', '/api/tasks/nope/deploy', {}, 404, 'task_not_found'],
    [
      'POST',
      '/api/tasks/hello-site/deploy',
      { environment: '../prod' },
      422,
      'invalid_environment',
    ],
    [
      'POST',
      '/api/tasks/hello-site/deploy',
      { environment: 'prod; rm -rf /' },
      422,
      'invalid_environment',
    ],
    ['POST', '/api/tasks/hello-site/deploy', { dryRun: 'yes' }, 422, 'invalid_field'],
    ['POST', '/api/tasks/hello-site/deploy', { force: true }, 422, 'invalid_field'],
    ['GET', '/api/tasks/hello-site/deploy', undefined, 405, 'method_not_allowed'],
    ['DELETE', '/api/deploys', undefined, 405, 'method_not_allowed'],
    ['GET', '/api/deploys?env=Prod!', undefined, 400, 'invalid_env'],
    ['GET', '/api/deploys?limit=0', undefined, 400, 'invalid_limit'],
  ] as const)('%s %s %j → %i %s, nothing queued', async (method, path, body, status, code) => {
    await issueTask(api.store)
    const answer = await call(method, path, body)
    expect(answer.status).toBe(status)
    expect(answer.json.error.code).toBe(code)
    expect(await api.queue.listJobs({})).toEqual([])
  })

  it('refuses to deploy a task that has no repository installation, or no pushed code yet', async () => {
    await api.store.saveTask({
      id: 'api-only',
      title: 'x',
      source: { kind: 'api', repo: null, key: 'api', requester: 'manager-api' },
      manifestText: MANIFEST,
      spec: 'spec',
    })
    const noRepo = await call('POST', '/api/tasks/api-only/deploy', {})
    expect(noRepo.status).toBe(409)
    expect(noRepo.json.error.code).toBe('not_in_a_repository')
    await issueTask(api.store, 'fresh')
    await api.store.saveTask({
      id: 'ungenerated',
      title: 'x',
      source: {
        kind: 'issue',
        repo: 'octo-org/hello-world',
        issue: 2,
        key: 'issue:octo-org/hello-world#2',
        requester: 'mona',
        installationId: 7,
      },
      manifestText: MANIFEST.replace('hello-site', 'ungenerated'),
      spec: 'spec',
    })
    const noCode = await call('POST', '/api/tasks/ungenerated/deploy', {})
    expect(noCode.status).toBe(409)
    expect(noCode.json.error.code).toBe('not_generated')
    expect(await api.queue.listJobs({})).toEqual([])
  })
})
