import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ApiBody, type ApiServer, startApiServer } from './api-server.js'

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/specs/${name}`, import.meta.url), 'utf8')

let api: ApiServer

async function post(body: string) {
  const response = await api.request('/api/tasks?repo=octo/blog', {
    method: 'POST',
    headers: { 'content-type': 'text/markdown; charset=utf-8' },
    body,
  })
  return { status: response.status, json: response.json<ApiBody>() }
}

describe('manager API: a Spec Kit spec as text/markdown', () => {
  beforeEach(async () => {
    api = await startApiServer()
  })
  afterEach(async () => {
    await api.close()
  })

  it('answers 422 with every problem at its line:column, and creates nothing', async () => {
    const refused = await post(fixture('open-markers.spec.md'))
    expect(refused.status).toBe(422)
    expect(refused.json.error).toMatchObject({ code: 'invalid_manifest' })
    const problems = refused.json.error.problems as Array<{
      line: number
      column: number
      pointer: string
    }>
    expect(problems).toHaveLength(11)
    expect(problems.map((p) => `${p.line}:${p.column} ${p.pointer}`)).toEqual(
      expect.arrayContaining([
        '1:26 spec',
        '8:8 /stack',
        '21:33 User Story 2',
        '32:52 spec',
        '33:5 FR-001',
      ]),
    )
    expect(await api.store.listTasks()).toEqual([])
  })

  it('creates the task of a complete spec, its id from the title', async () => {
    const created = await post(fixture('001-blog/spec.md'))
    expect(created.status).toBe(201)
    expect(created.json.task).toMatchObject({ id: 'team-blog', title: 'Team blog' })
    expect(created.json.task.spec).toContain('path: /post.php?id=999')
  })
})
