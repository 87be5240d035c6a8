import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRemote, git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { validateGitHubResponse } from '../helpers/openapi.js'
import { fakeRepo, type RepoFake, revParse } from './github-repo-routes.js'
import { type GitHubStandin, startGitHubStandin } from './github-standin.js'

let github: GitHubStandin
let remote: { root: string; bare: string }
let repo: RepoFake
const base = '/repos/Codertocat/Hello-World'

beforeEach(async () => {
  github = await startGitHubStandin()
  remote = createRemote()
  repo = fakeRepo({
    owner: 'Codertocat',
    repo: 'Hello-World',
    bare: remote.bare,
    cloneUrl: 'http://127.0.0.1:1/Hello-World.git',
    apiUrl: github.apiUrl,
  })
  github.routes(...repo.routes)
})
afterEach(async () => {
  await github.close()
  rmSync(remote.root, { recursive: true, force: true })
})

/** Calls the stand-in and checks its answer against GitHub's description of the response. */
async function call(method: string, path: string, body?: unknown) {
  const answer = await httpRequest(`${github.apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const json = answer.json() as unknown
  expect(validateGitHubResponse(method, path, answer.status, json)).toEqual([])
  return json as Record<string, unknown> & Record<number, Record<string, unknown>>
}

describe("the repository fake's pull requests", () => {
  it('are whole GitHub pull requests, open then merged, with head.repo this repository', async () => {
    const work = join(remote.root, 'work')
    git(remote.root, 'clone', '-q', remote.bare, work)
    git(work, 'checkout', '-q', '-b', 'devsys/blog')
    git(work, 'commit', '-q', '--allow-empty', '-m', 'Blog')
    git(work, 'push', '-q', 'origin', 'devsys/blog')
    const head = revParse(remote.bare, 'devsys/blog')

    const opened = await call('POST', `${base}/pulls`, {
      head: 'devsys/blog',
      base: 'main',
      title: 'Blog',
      body: 'Closes #1',
      draft: true,
    })
    expect(opened).toMatchObject({
      number: 5,
      state: 'open',
      draft: true,
      merged: false,
      merged_at: null,
      head: { ref: 'devsys/blog', sha: head, repo: { full_name: 'Codertocat/Hello-World' } },
      base: { ref: 'main', repo: { full_name: 'Codertocat/Hello-World' } },
      commits: 1,
    })
    const listed = await call('GET', `${base}/pulls?head=Codertocat:devsys/blog&state=open`)
    expect(listed[0]).toMatchObject({ number: 5, head: { sha: head } })
    expect(listed[0]).not.toHaveProperty('merged')

    git(work, 'checkout', '-q', 'main')
    git(work, 'merge', '-q', '--no-ff', '-m', 'Merge pull request #5', 'devsys/blog')
    git(work, 'push', '-q', 'origin', 'main')
    const merge = revParse(remote.bare, 'main')
    repo.merge(5, merge)

    expect(await call('GET', `${base}/pulls/5`)).toMatchObject({
      state: 'closed',
      merged: true,
      merge_commit_sha: merge,
      merged_at: expect.any(String),
      head: { sha: head, repo: { full_name: 'Codertocat/Hello-World' } },
    })
    const ofCommit = await call('GET', `${base}/commits/${merge}/pulls`)
    expect(ofCommit[0]).toMatchObject({ number: 5, merged_at: expect.any(String) })
    // Merged, so closed: no longer among the open pull requests of its branch.
    expect(await call('GET', `${base}/pulls?head=Codertocat:devsys/blog&state=open`)).toEqual([])
    expect(github.problems()).toEqual([])
  })

  it('would be caught lacking a field GitHub always sends', () => {
    const problems = validateGitHubResponse('GET', `${base}/pulls/5`, 200, {
      number: 5,
      head: { ref: 'x', sha: 'y' },
    })
    expect(problems.some((p) => p.includes("'merged'"))).toBe(true)
  })
})

describe("the repository fake's issues", () => {
  it('are created, listed by state and labels (pull requests among them) and closed, as GitHub answers', async () => {
    const work = join(remote.root, 'work')
    git(remote.root, 'clone', '-q', remote.bare, work)
    git(work, 'checkout', '-q', '-b', 'devsys/blog')
    git(work, 'commit', '-q', '--allow-empty', '-m', 'Blog')
    git(work, 'push', '-q', 'origin', 'devsys/blog')
    await call('POST', `${base}/pulls`, { head: 'devsys/blog', base: 'main', title: 'Blog' })

    const opened = await call('POST', `${base}/issues`, {
      title: 'production is down',
      body: 'marker',
      labels: ['devsys-incident', 'production'],
    })
    // Pull request #5 took the first number; issues and pull requests share them.
    expect(opened).toMatchObject({
      number: 6,
      state: 'open',
      title: 'production is down',
      body: 'marker',
      closed_at: null,
      labels: [{ name: 'devsys-incident' }, { name: 'production' }],
    })
    expect(opened).not.toHaveProperty('pull_request')
    await call('POST', `${base}/issues`, { title: 'Planned work', labels: ['maintenance'] })

    const numbers = async (query: string) =>
      ((await call('GET', `${base}/issues${query}`)) as unknown as { number: number }[]).map(
        (i) => i.number,
      )
    // Newest first, pull requests included, open ones by default.
    expect(await numbers('')).toEqual([7, 6, 5])
    expect(await numbers('?state=open&labels=devsys-incident,production&per_page=20')).toEqual([6])
    expect(await numbers('?labels=devsys-incident,staging')).toEqual([])
    expect(await numbers('?labels=maintenance&per_page=1')).toEqual([7])
    expect(await numbers('?per_page=2&page=2')).toEqual([5])
    const [pull] = (await call('GET', `${base}/issues?per_page=2&page=2`)) as unknown as object[]
    expect(pull).toMatchObject({ pull_request: { merged_at: null } })

    const closed = await call('PATCH', `${base}/issues/6`, {
      state: 'closed',
      state_reason: 'completed',
    })
    expect(closed).toMatchObject({ number: 6, state: 'closed', state_reason: 'completed' })
    expect(closed.closed_at).toEqual(expect.any(String))
    expect(repo.state.issues.get(6)).toMatchObject({ state: 'closed', stateReason: 'completed' })
    expect(await numbers('?labels=devsys-incident')).toEqual([])
    expect(await numbers('?state=closed')).toEqual([6])
    expect(await numbers('?state=all&labels=production')).toEqual([6])

    const missing = await httpRequest(`${github.apiUrl}${base}/issues/99`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'closed' }),
    })
    expect(missing.status).toBe(404)
    expect(github.problems()).toEqual([])
  })
})
