import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import nock from 'nock'
import type { Probot } from 'probot'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  assertGitHubClean,
  createTestProbot,
  GITHUB_API,
  githubRequests,
  mockGitHub,
  nockCreateCheckRun,
  nockCreateIssueComment,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockRepoConfig,
  nockUpdateCheckRun,
  nockUpdateIssueComment,
  restoreGitHub,
  settleGitHub,
  TEST_INSTALLATION_TOKEN,
  useGitHubMock,
} from './github.js'
import { exampleEvent, examplePayload } from './payloads.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'

/** An app that comments "Thanks" on every opened issue. */
async function commentingProbot(): Promise<Probot> {
  return createTestProbot((app) => {
    app.on('issues.opened', async (context) => {
      await context.octokit.rest.issues.createComment(context.issue({ body: 'Thanks' }))
    })
  })
}

describe('with useGitHubMock (clean runs)', () => {
  useGitHubMock()

  it('a real Probot comments on an official issues.opened payload, with a valid body and token', async () => {
    const probot = await commentingProbot()
    const comment = nockCreateIssueComment(OWNER, REPO, 1)
    let authorization: string | null = null
    comment.scope.on('request', (request: Request) => {
      authorization = request.headers.get('authorization')
    })
    const event = exampleEvent('issues.opened')
    await probot.receive(event)
    expect(await comment.body).toEqual({ body: 'Thanks' })
    expect(authorization).toBe(`token ${TEST_INSTALLATION_TOKEN}`)
    expect(githubRequests().map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /app/installations/1234/access_tokens',
      `POST /repos/${OWNER}/${REPO}/issues/1/comments`,
    ])
  })

  it('context.config reads .github/devsys.yml raw from the default branch', async () => {
    let seen: unknown = 'unset'
    const probot = await createTestProbot((app) => {
      app.on('issues.opened', async (context) => {
        seen = await context.config('devsys.yml')
      })
    })
    nockRepoConfig(OWNER, REPO, 'deploy:\n  target: local\n')
    await probot.receive(exampleEvent('issues.opened'))
    expect(seen).toEqual({ deploy: { target: 'local' } })
  })

  it('context.config falls back to the owner .github repo, then gives null', async () => {
    let seen: unknown = 'unset'
    const probot = await createTestProbot((app) => {
      app.on('issues.opened', async (context) => {
        seen = await context.config('devsys.yml')
      })
    })
    nockRepoConfig(OWNER, REPO, null)
    await probot.receive(exampleEvent('issues.opened'))
    expect(seen).toBeNull()
    expect(githubRequests().map((r) => r.path)).toEqual([
      '/app/installations/1234/access_tokens',
      `/repos/${OWNER}/${REPO}/contents/.github%2Fdevsys.yml`,
      `/repos/${OWNER}/.github/contents/.github%2Fdevsys.yml`,
    ])
  })

  it('serves file contents as base64 JSON like the contents API, and 404 for missing files', async () => {
    const probot = await createTestProbot()
    const octokit = await probot.auth(1234)
    nockGetContent(OWNER, REPO, 'specs/app.json', 'main', '{"name":"app"}')
    nockGetContent(OWNER, REPO, 'specs/missing.json', 'main', null)
    const { data } = await octokit.rest.repos.getContent({
      owner: OWNER,
      repo: REPO,
      path: 'specs/app.json',
      ref: 'main',
    })
    if (Array.isArray(data) || data.type !== 'file') throw new Error('expected a file')
    expect(Buffer.from(data.content, 'base64').toString('utf8')).toBe('{"name":"app"}')
    await expect(
      octokit.rest.repos.getContent({
        owner: OWNER,
        repo: REPO,
        path: 'specs/missing.json',
        ref: 'main',
      }),
    ).rejects.toMatchObject({ status: 404 })
  })

  it('captures bodies of reactions, check runs, comment edits and reads permissions', async () => {
    const probot = await createTestProbot()
    const octokit = await probot.auth(1234)
    const reaction = nockCreateReaction(OWNER, REPO, 1)
    const created = nockCreateCheckRun(OWNER, REPO)
    const updated = nockUpdateCheckRun(OWNER, REPO, 4242)
    const edited = nockUpdateIssueComment(OWNER, REPO, 1001)
    nockGetCollaboratorPermission(OWNER, REPO, 'octocat', 'maintain')

    const repo = { owner: OWNER, repo: REPO }
    await octokit.rest.reactions.createForIssue({ ...repo, issue_number: 1, content: 'rocket' })
    const run = await octokit.rest.checks.create({
      ...repo,
      name: 'DevSys / tests',
      head_sha: 'a'.repeat(40),
      status: 'queued',
    })
    await octokit.rest.checks.update({
      ...repo,
      check_run_id: run.data.id,
      status: 'completed',
      conclusion: 'success',
    })
    await octokit.rest.issues.updateComment({ ...repo, comment_id: 1001, body: 'edited' })
    const permission = await octokit.rest.repos.getCollaboratorPermissionLevel({
      ...repo,
      username: 'octocat',
    })

    expect(await reaction.body).toEqual({ content: 'rocket' })
    expect(await created.body).toMatchObject({ name: 'DevSys / tests', status: 'queued' })
    expect(await updated.body).toEqual({ status: 'completed', conclusion: 'success' })
    expect(await edited.body).toEqual({ body: 'edited' })
    expect(permission.data).toMatchObject({ permission: 'write', role_name: 'maintain' })
  })
})

describe('problems make assertGitHubClean() throw', () => {
  beforeEach(() => {
    mockGitHub()
  })
  afterEach(() => {
    restoreGitHub()
  })

  it('a body GitHub would reject, in a scope built with plain nock()', async () => {
    const probot = await createTestProbot((app) => {
      app.on('issues.opened', async (context) => {
        await context.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
          ...context.issue(),
          bodyy: 'x',
        })
      })
    })
    nock(GITHUB_API).post(`/repos/${OWNER}/${REPO}/issues/1/comments`).reply(201, { id: 1 })
    await probot.receive(exampleEvent('issues.opened'))
    expect(() => assertGitHubClean()).toThrow(/body \/: must have required property 'body'/)
  })

  it('a check run with status "bogus", through a named helper', async () => {
    const probot = await createTestProbot()
    const octokit = await probot.auth(1234)
    const run = nockCreateCheckRun(OWNER, REPO)
    // A plain `string` route skips octokit's typed parameters, so the invalid status compiles.
    const route: string = 'POST /repos/{owner}/{repo}/check-runs'
    await octokit.request(route, {
      owner: OWNER,
      repo: REPO,
      name: 'DevSys / tests',
      head_sha: 'a'.repeat(40),
      status: 'bogus',
    })
    expect(await run.body).toMatchObject({ status: 'bogus' })
    expect(() => assertGitHubClean()).toThrow(
      /POST \/repos\/Codertocat\/Hello-World\/check-runs .*checks\/create.*body \/status: must be equal to one of the allowed values/,
    )
  })

  it('an endpoint that GitHub does not have, even when a test mocked it', async () => {
    const probot = await createTestProbot()
    const octokit = await probot.auth(1234)
    nock(GITHUB_API).post(`/repos/${OWNER}/${REPO}/nonsense`).reply(200, {})
    await octokit.request('POST /repos/{owner}/{repo}/nonsense', { owner: OWNER, repo: REPO })
    expect(() => assertGitHubClean()).toThrow(
      /POST \/repos\/Codertocat\/Hello-World\/nonsense: no such path/,
    )
  })

  it('a request no interceptor matches, with its body validated too', async () => {
    const probot = await createTestProbot()
    const octokit = await probot.auth(1234)
    const route: string = 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments'
    await expect(
      octokit.request(route, {
        owner: OWNER,
        repo: REPO,
        issue_number: 9,
        text: 'wrong field',
      }),
    ).rejects.toThrow()
    await settleGitHub()
    const error = (() => {
      try {
        assertGitHubClean()
      } catch (e) {
        return String(e)
      }
      return 'clean'
    })()
    expect(error).toMatch(/POST \/repos\/Codertocat\/Hello-World\/issues\/9\/comments: no match/)
    expect(error).toMatch(/must have required property 'body'/)
  })

  it('a mock that was never requested', async () => {
    nockCreateIssueComment(OWNER, REPO, 1)
    expect(() => assertGitHubClean()).toThrow(
      /POST https:\/\/api.github.com:443\/repos\/Codertocat\/Hello-World\/issues\/1\/comments: mocked but never requested/,
    )
  })

  it('a clean run does not throw (the token exchange is optional)', () => {
    expect(() => assertGitHubClean()).not.toThrow()
  })
})

describe('nock 15.0.0 behaviour the harness relies on', () => {
  beforeEach(() => {
    mockGitHub()
  })
  afterEach(() => {
    restoreGitHub()
  })

  it('reply callbacks get one argument, a fetch Request; body matchers get the parsed body', async () => {
    let matcherArg: unknown
    let replyArgs: unknown[] = []
    nock(GITHUB_API)
      .post('/markdown', (body: unknown) => {
        matcherArg = body
        return true
      })
      .reply(200, (...args: unknown[]) => {
        replyArgs = args
        return 'ok'
      })
    const response = await fetch(`${GITHUB_API}/markdown`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hi' }),
    })
    expect(await response.text()).toBe('ok')
    expect(matcherArg).toEqual({ text: 'hi' })
    expect(replyArgs).toHaveLength(1)
    expect(replyArgs[0]).toBeInstanceOf(Request)
    expect(await (replyArgs[0] as Request).json()).toEqual({ text: 'hi' })
    assertGitHubClean()
  })

  it('refuses real network to other hosts but lets loopback through', async () => {
    const server = createServer((_req, res) => res.end('local'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('local')
    } finally {
      server.close()
    }
    await expect(fetch('https://example.com/')).rejects.toThrow()
    await settleGitHub()
    expect(() => assertGitHubClean()).toThrow(/example\.com.*other than https:\/\/api\.github\.com/)
  })

  it('payload helpers: installation added, unknown actions explained', () => {
    const payload = examplePayload('issues', 'labeled', (p) => {
      if (p.label) p.label.name = 'devsys'
    })
    expect(payload.installation.id).toBe(1234)
    expect(payload.label?.name).toBe('devsys')
    expect(examplePayload('issues', 'labeled').label?.name).toBe('bug')
    const untyped = examplePayload as (event: string, action?: string) => unknown
    expect(() => untyped('issues', 'frobnicated')).toThrow(
      /No webhook example for "issues.frobnicated".*examples exist for: .*labeled/,
    )
    expect(() => untyped('no_such_event')).toThrow(/No webhook example for event "no_such_event"/)
  })
})
