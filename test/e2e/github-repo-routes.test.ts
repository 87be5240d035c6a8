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
