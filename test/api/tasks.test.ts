import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ApiBody, type ApiServer, startApiServer } from './api-server.js'

const blog = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const blogId = (JSON.parse(blog) as { id: string }).id

let api: ApiServer

async function post(body: string, type = 'application/json', path = '/api/tasks') {
  const response = await api.request(`${path}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
  })
  return { status: response.status, json: response.json<ApiBody>() }
}

describe('manager API: tasks', () => {
  beforeEach(async () => {
    api = await startApiServer()
  })
  afterEach(async () => {
    await api.close()
  })

  it('creates a task from a JSON manifest, then lists, reads and updates it', async () => {
    const created = await post(blog, 'application/json', '/api/tasks?repo=octo/blog')
    expect(created.status).toBe(201)
    expect(created.json.result).toBe('created')
    expect(created.json.task).toMatchObject({ id: blogId, status: 'pending', revision: 1 })
    expect(created.json.task.source).toMatchObject({ kind: 'api', repo: 'octo/blog' })
    expect(created.json.task.spec).toContain(`id: ${blogId}`)

    const list = (await api.request(`/api/tasks`)).json<ApiBody>()
    expect(list.tasks.map((t) => t.id)).toEqual([blogId])

    const one = await api.request(`/api/tasks/${blogId}`)
    expect(one.status).toBe(200)
    expect(one.json<ApiBody>().task.manifest).toBe(blog)

    const patched = await api.request(`/api/tasks/${blogId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'cancelled' }),
    })
    expect(patched.status).toBe(200)
    expect(patched.json<ApiBody>().task.status).toBe('cancelled')
    expect((await api.store.getTask({ repo: 'octo/blog', id: blogId }))?.status).toBe('cancelled')
  })

  it('posting the same manifest again is unchanged; a changed one is a new revision', async () => {
    expect((await post(blog)).status).toBe(201)
    const again = await post(blog)
    expect(again.status).toBe(200)
    expect(again.json.result).toBe('unchanged')
    const changed = JSON.stringify({ ...JSON.parse(blog), title: 'A different title' })
    const updated = await post(changed)
    expect(updated.json).toMatchObject({
      result: 'updated',
      task: { revision: 2, title: 'A different title' },
    })
  })

  it('answers 422 with every problem, positioned in the request body, and stores nothing', async () => {
    const bad = '{\n  "id": "../etc",\n  "title": "x",\n  "stack": "cobol"\n}'
    const response = await post(bad)
    expect(response.status).toBe(422)
    expect(response.json.error.code).toBe('invalid_manifest')
    const problems = response.json.error.problems
    const at = (pointer: string) => problems.find((p) => p.pointer === pointer)
    expect(at('/id')).toMatchObject({ line: 2, column: 9 })
    expect(at('/stack')).toMatchObject({ line: 4 })
    expect(at('/stack')?.hint).toMatch(/php/)
    expect(problems.length).toBeGreaterThanOrEqual(4) // id, stack, and the missing stories and acceptance
    expect(await api.store.listTasks()).toEqual([])
  })

  it('answers 422 for malformed JSON with the line and column', async () => {
    const response = await post('{\n  "id": "blog",\n  "title": oops\n}')
    expect(response.status).toBe(422)
    expect(response.json.error.problems[0]).toMatchObject({ line: 3, column: 12 })
  })

  it('accepts YAML manifests', async () => {
    const yaml = Object.entries(JSON.parse(blog) as Record<string, unknown>)
      .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
      .join('\n')
    const response = await post(yaml, 'application/yaml')
    expect(response.status).toBe(201)
  })

  it('refuses bodies over 1 MiB with 413, and other content types with 415', async () => {
    const huge = `{"id":"big","title":"${'x'.repeat(1024 * 1024)}"}`
    const response = await post(huge)
    expect(response.status).toBe(413)
    expect(response.json.error.code).toBe('payload_too_large')
    expect((await post(blog, 'text/plain')).status).toBe(415)
    expect(await api.store.listTasks()).toEqual([])
  })

  it('refuses a task id that belongs to another source with 409', async () => {
    await api.store.saveTask({
      id: blogId,
      title: 'from an issue',
      source: {
        kind: 'issue',
        repo: 'octo/blog',
        issue: 7,
        key: 'issue:octo/blog#7',
        requester: 'octocat',
      },
      manifestText: '{}',
      spec: 'spec',
    })
    const response = await post(blog, 'application/json', '/api/tasks?repo=octo/blog')
    expect(response.status).toBe(409)
    expect(response.json.error.message).toContain('issue #7 in octo/blog')
    expect(response.json.error.problems[0]).toMatchObject({ pointer: '/id', line: 2 })
    expect((await api.store.getTask({ repo: 'octo/blog', id: blogId }))?.title).toBe(
      'from an issue',
    )
    // Task ids are per repository: the same id for another repository is a task of its own.
    const elsewhere = await post(blog, 'application/json', '/api/tasks?repo=acme/site')
    expect(elsewhere.status).toBe(201)
    expect(elsewhere.json.task).toMatchObject({ id: blogId, repo: 'acme/site' })

    // Two tasks share the id now: the API asks which one, and ?repo= picks it.
    const ambiguous = await api.request(`/api/tasks/${blogId}`)
    expect(ambiguous.status).toBe(409)
    expect(ambiguous.json<ApiBody>().error).toMatchObject({ code: 'ambiguous_task' })
    expect(ambiguous.json<ApiBody>().error.message).toContain('acme/site')
    const picked = await api.request(`/api/tasks/${blogId}?repo=octo/blog`)
    expect(picked.status).toBe(200)
    expect(picked.json<ApiBody>().task.title).toBe('from an issue')
    const absent = await api.request(`/api/tasks/${blogId}?repo=acme/none`)
    expect(absent.status).toBe(404)
  })

  it('answers 404, 405 and 422 for unknown tasks, methods and statuses', async () => {
    expect((await api.request(`/api/tasks/nope`)).status).toBe(404)
    expect((await api.request(`/api/tasks`, { method: 'DELETE' })).status).toBe(405)
    expect((await api.request(`/api/nothing`)).status).toBe(404)
    await post(blog)
    const bad = await api.request(`/api/tasks/${blogId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'finished' }),
    })
    expect(bad.status).toBe(422)
    expect(bad.json<ApiBody>().error.message).toContain('pending')
    const badJson = await api.request(`/api/tasks/${blogId}`, {
      method: 'PATCH',
      body: '{',
    })
    expect(badJson.status).toBe(400)
  })

  it('answers 400 (not 500) for malformed percent-encoding in a task id, on every route', async () => {
    for (const [method, path] of [
      ['GET', '/api/tasks/%E0%A4%A'],
      ['PATCH', '/api/tasks/%E0%A4%A'],
      ['GET', '/api/tasks/%FF/tests/latest'],
      ['GET', '/api/tasks/%E0%A4%A/deploys'],
      ['POST', '/api/tasks/%/deploy'],
    ] as const) {
      const answer = await api.request(path, { method, body: method === 'GET' ? '' : '{}' })
      expect([path, answer.status, answer.json<ApiBody>().error.code]).toEqual([
        path,
        400,
        'invalid_path_encoding',
      ])
    }
  })
})

describe('manager API: test reports', () => {
  beforeEach(async () => {
    api = await startApiServer()
  })
  afterEach(async () => {
    await api.close()
  })

  it('GET /api/tasks/:id/tests/latest returns the newest run with its parsed report', async () => {
    expect((await api.request(`/api/tasks/${blogId}/tests/latest`)).status).toBe(404)
    await post(blog)
    const none = await api.request(`/api/tasks/${blogId}/tests/latest`)
    expect(none.status).toBe(404)
    expect(none.json<ApiBody>().error.code).toBe('no_test_run')
    const old = await api.store.startTestRun({
      task: { repo: null, id: blogId },
      headSha: 'a'.repeat(40),
      checkRunId: 1,
    })
    await api.store.updateTestRun(old.id, { state: 'completed', conclusion: 'failure' })
    const run = await api.store.startTestRun({
      task: { repo: null, id: blogId },
      headSha: 'b'.repeat(40),
      checkRunId: 2,
    })
    await api.store.updateTestRun(run.id, {
      state: 'completed',
      conclusion: 'success',
      summary: { tests: 1, passed: 1 },
      report: { tests: 1, cases: [{ name: 'lists posts', status: 'passed' }] },
    })
    const latest = await api.request(`/api/tasks/${blogId}/tests/latest`)
    expect(latest.status).toBe(200)
    expect(latest.json<{ testRun: Record<string, unknown> }>().testRun).toMatchObject({
      headSha: 'b'.repeat(40),
      conclusion: 'success',
      report: { cases: [{ name: 'lists posts', status: 'passed' }] },
    })
  })
})
