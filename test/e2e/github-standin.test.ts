import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { httpRequest } from '../helpers/http.js'
import { type GitHubStandin, startGitHubStandin } from './github-standin.js'

let github: GitHubStandin
beforeEach(async () => {
  github = await startGitHubStandin()
})
afterEach(async () => {
  await github.close()
})

const post = (path: string, body: unknown) =>
  httpRequest(`${github.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('the GitHub stand-in', () => {
  it('hands out its installation token, and records the request as valid', async () => {
    const answer = await post('/app/installations/1234/access_tokens', {})
    expect(answer.status).toBe(201)
    expect(answer.json()).toMatchObject({ token: github.token })
    expect(github.problems()).toEqual([])
  })

  it("records bodies GitHub's description rejects, and unknown routes (answered 404)", async () => {
    github.routes({
      route: 'POST /repos/{owner}/{repo}/check-runs',
      reply: () => ({ status: 201, body: { id: 1 } }),
    })
    // A check run without head_sha, as GitHub would refuse it with 422.
    expect((await post('/repos/o/r/check-runs', { name: 'x' })).status).toBe(201)
    expect((await post('/repos/o/r/no-such-thing', {})).status).toBe(404)
    const problems = github.problems()
    expect(problems.some((p) => p.includes('/check-runs') && p.includes('head_sha'))).toBe(true)
    expect(problems).toContain('POST /repos/o/r/no-such-thing: no route in the stand-in')
    const seen = await github.waitFor('POST /repos/{owner}/{repo}/check-runs')
    expect(seen.params).toEqual({ owner: 'o', repo: 'r' })
  })
})
