import nock from 'nock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { installationToken } from '../../src/github/installation-token.js'
import { forgetSecrets, registerSecret } from '../../src/secrets/redact.js'
import { redactingAuth } from '../../src/secrets/redact-github-requests.js'
import {
  createTestProbot,
  githubRequests,
  nockCreateCheckRun,
  useGitHubMock,
} from '../helpers/github.js'

const SECRET = 'webhook-secret-for-github-requests'
/** GitHub Enterprise Server's older, unprefixed token form: no token shape gives it away. */
const INSTALLATION_TOKEN = 'v1.0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c'

const github = useGitHubMock()

beforeEach(() => {
  // This installation's token instead of the default token-shaped one.
  nock.cleanAll()
  github()
    .persist()
    .post(/^\/app\/installations\/\d+\/access_tokens$/)
    .reply(201, {
      token: INSTALLATION_TOKEN,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      permissions: { checks: 'write' },
      repository_selection: 'all',
    })
  registerSecret(SECRET)
})
afterEach(() => {
  forgetSecrets()
  nock.cleanAll()
})

describe('redactingAuth', () => {
  it('redacts secrets and the installation token from REST bodies, still authenticating with the token', async () => {
    const probot = await createTestProbot()
    const client = await redactingAuth((id) => probot.auth(id))(7)
    // As a job does before handing the token to git: from then on it is a known secret.
    expect(await installationToken(client, 7)).toBe(INSTALLATION_TOKEN)
    const created = nockCreateCheckRun('o', 'r', 9)
    const authorized = github()
      .matchHeader('authorization', `token ${INSTALLATION_TOKEN}`)
      .get('/repos/o/r')
      .reply(200, { id: 1 })
    await client.rest.checks.create({
      owner: 'o',
      repo: 'r',
      name: 'DevSys / tests',
      head_sha: 'a'.repeat(40),
      output: {
        title: 'leak',
        summary: `secret ${SECRET} and token ${INSTALLATION_TOKEN}`,
        annotations: [
          {
            path: 'a.js',
            start_line: 1,
            end_line: 1,
            annotation_level: 'failure',
            message: `expected ${SECRET}`,
          },
        ],
      },
    })
    await client.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: 'r' })
    expect((await created.body).output).toEqual({
      title: 'leak',
      summary: 'secret [redacted] and token [redacted]',
      annotations: [expect.objectContaining({ message: 'expected [redacted]' })],
    })
    expect(authorized.isDone()).toBe(true)
  })

  it('redacts GraphQL variables and queries', async () => {
    const probot = await createTestProbot()
    const client = await redactingAuth((id) => probot.auth(id))(7)
    github()
      .post('/graphql')
      .reply(200, { data: { addComment: { subject: { id: 'PR_1' } } } })
    await client.graphql(
      `mutation($id: ID!, $body: String!) { addComment(input: {subjectId: $id, body: $body}) { subject { id } } }`,
      { id: 'PR_1', body: `the key is ${SECRET}` },
    )
    const sent = githubRequests().find((r) => r.path === '/graphql')
    expect(sent?.body).toMatchObject({ variables: { body: 'the key is [redacted]' } })
    expect(JSON.stringify(githubRequests())).not.toContain(SECRET)
  })

  it('guards the app client too, once, however often it is asked for', async () => {
    const probot = await createTestProbot()
    const auth = redactingAuth((id) => probot.auth(id))
    const app = await auth()
    expect(await auth()).toBe(app)
    github().patch('/app/hook/config').reply(200, {})
    await app.request('PATCH /app/hook/config', { secret: SECRET })
    const sent = githubRequests().find((r) => r.path === '/app/hook/config')
    expect(sent?.body).toEqual({ secret: '[redacted]' })
  })
})
