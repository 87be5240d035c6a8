/**
 * Named nock helpers for the GitHub endpoints DevSys uses (release-drafter style). Each mocks one
 * request on api.github.com and captures what the app sent, so tests assert on observable requests.
 */
import nock from 'nock'

const API = 'https://api.github.com'

/** One mocked request: `body` resolves with the parsed JSON body once it has been served. */
export interface Captured<T = unknown> {
  scope: nock.Scope
  body: Promise<T>
}

type ReplyBody = Record<string, unknown>

function capture<T>(): { body: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {}
  const body = new Promise<T>((r) => {
    resolve = r
  })
  return { body, resolve }
}

async function readJson(request: Request): Promise<unknown> {
  const text = await request.text()
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** Mocks `method path`, replying `status` with `reply(body)`, and captures the request body. */
function mockJson<T = unknown>(
  method: 'get' | 'post' | 'patch' | 'put' | 'delete',
  path: string | ((uri: string) => boolean),
  status: number,
  reply: (body: T) => ReplyBody,
): Captured<T> {
  const { body, resolve } = capture<T>()
  const scope = nock(API)
    [method](path)
    .reply(async (request: Request) => {
      const sent = (await readJson(request)) as T
      resolve(sent)
      return [status, reply(sent)] as const
    })
  return { scope, body }
}

/** Matches a contents path whether or not the client escaped its slashes (octokit sends `%2F`). */
function contentsPath(owner: string, repo: string, path: string): (uri: string) => boolean {
  const expected = `/repos/${owner}/${repo}/contents/${path}`
  return (uri) => decodeURIComponent(uri.split('?')[0] ?? '') === expected
}

const sender = { login: 'devsys[bot]', id: 99, type: 'Bot' }

/** POST /repos/{owner}/{repo}/issues/{issue_number}/comments → 201 with comment id 1001 (or `reply`). */
export function nockCreateIssueComment(
  owner: string,
  repo: string,
  issue: number,
  reply: ReplyBody = {},
): Captured<{ body: string }> {
  return mockJson<{ body: string }>(
    'post',
    `/repos/${owner}/${repo}/issues/${issue}/comments`,
    201,
    (sent) => ({
      id: 1001,
      node_id: 'IC_test',
      body: sent.body,
      user: sender,
      html_url: `https://github.com/${owner}/${repo}/issues/${issue}#issuecomment-1001`,
      created_at: '2025-01-01T00:00:00Z',
      updated_at: '2025-01-01T00:00:00Z',
      ...reply,
    }),
  )
}

/** PATCH /repos/{owner}/{repo}/issues/comments/{comment_id} → 200. */
export function nockUpdateIssueComment(
  owner: string,
  repo: string,
  commentId: number,
): Captured<{ body: string }> {
  return mockJson<{ body: string }>(
    'patch',
    `/repos/${owner}/${repo}/issues/comments/${commentId}`,
    200,
    (sent) => ({
      id: commentId,
      node_id: 'IC_test',
      body: sent.body,
      user: sender,
      html_url: `https://github.com/${owner}/${repo}/issues/1#issuecomment-${commentId}`,
      updated_at: '2025-01-01T00:00:00Z',
    }),
  )
}

/** POST /repos/{owner}/{repo}/issues/{issue_number}/reactions → 201. */
export function nockCreateReaction(
  owner: string,
  repo: string,
  issue: number,
): Captured<{ content: string }> {
  return mockJson<{ content: string }>(
    'post',
    `/repos/${owner}/${repo}/issues/${issue}/reactions`,
    201,
    (sent) => ({
      id: 2001,
      content: sent.content,
      user: sender,
    }),
  )
}

/** POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions → 201 (reacting to a command). */
export function nockCreateCommentReaction(
  owner: string,
  repo: string,
  commentId: number,
): Captured<{ content: string }> {
  return mockJson<{ content: string }>(
    'post',
    `/repos/${owner}/${repo}/issues/comments/${commentId}/reactions`,
    201,
    (sent) => ({ id: 2002, content: sent.content, user: sender }),
  )
}

/** Check-run fields tests usually assert on. */
export interface CheckRunBody {
  name?: string
  head_sha?: string
  status?: string
  conclusion?: string
  output?: { title?: string; summary?: string; text?: string; annotations?: unknown[] }
  [key: string]: unknown
}

/** POST /repos/{owner}/{repo}/check-runs → 201 with check run `id` (default 4242). */
export function nockCreateCheckRun(owner: string, repo: string, id = 4242): Captured<CheckRunBody> {
  return mockJson<CheckRunBody>('post', `/repos/${owner}/${repo}/check-runs`, 201, (sent) => ({
    id,
    name: sent.name,
    head_sha: sent.head_sha,
    status: sent.status ?? 'queued',
    conclusion: sent.conclusion ?? null,
    html_url: `https://github.com/${owner}/${repo}/runs/${id}`,
  }))
}

/** PATCH /repos/{owner}/{repo}/check-runs/{check_run_id} → 200. */
export function nockUpdateCheckRun(
  owner: string,
  repo: string,
  id: number,
): Captured<CheckRunBody> {
  return mockJson<CheckRunBody>(
    'patch',
    `/repos/${owner}/${repo}/check-runs/${id}`,
    200,
    (sent) => ({
      id,
      status: sent.status ?? 'in_progress',
      conclusion: sent.conclusion ?? null,
      html_url: `https://github.com/${owner}/${repo}/runs/${id}`,
    }),
  )
}

/** The contents-API answer for a file, as GitHub sends it (base64 in 60-character lines). */
export function contentResponse(
  owner: string,
  repo: string,
  path: string,
  text: string,
): ReplyBody {
  const base64 = Buffer.from(text, 'utf8').toString('base64')
  const url = `https://api.github.com/repos/${owner}/${repo}/contents/${path}`
  return {
    type: 'file',
    encoding: 'base64',
    size: Buffer.byteLength(text),
    name: path.split('/').pop(),
    path,
    content: `${base64.replace(/.{60}/g, '$&\n')}\n`,
    sha: 'a'.repeat(40),
    url,
    git_url: `https://api.github.com/repos/${owner}/${repo}/git/blobs/${'a'.repeat(40)}`,
    html_url: `https://github.com/${owner}/${repo}/blob/main/${path}`,
    download_url: `https://raw.githubusercontent.com/${owner}/${repo}/main/${path}`,
    _links: { self: url },
  }
}

const NOT_FOUND = {
  message: 'Not Found',
  documentation_url: 'https://docs.github.com/rest/repos/contents#get-repository-content',
  status: '404',
}

/**
 * GET /repos/{owner}/{repo}/contents/{path}?ref=… → the file (base64 JSON, or raw text when the
 * client asks for `application/vnd.github.raw`), or 404 when `text` is null. `ref: null` = no ref.
 */
export function nockGetContent(
  owner: string,
  repo: string,
  path: string,
  ref: string | null,
  text: string | null,
): nock.Scope {
  return nock(API)
    .get(contentsPath(owner, repo, path))
    .query(ref === null ? (q) => Object.keys(q).length === 0 : { ref })
    .reply((request: Request) => {
      if (text === null) return [404, NOT_FOUND] as const
      if (/\.raw\b/.test(request.headers.get('accept') ?? '')) {
        return [200, text, { 'content-type': 'application/vnd.github.raw; charset=utf-8' }] as const
      }
      return [200, contentResponse(owner, repo, path, text)] as const
    })
}

/**
 * What `context.config('devsys.yml')` requests (@probot/octokit-plugin-config 4.1): a raw GET of
 * `.github/devsys.yml` on the repo's default branch (no ref); on 404 the same file in the
 * owner's `.github` repo (skipped when `repo` is `.github`). `_extends` chains are not mocked.
 */
export function nockRepoConfig(
  owner: string,
  repo: string,
  yamlText: string | null,
  file = 'devsys.yml',
): nock.Scope[] {
  const path = `.github/${file}`
  const scopes = [nockGetContent(owner, repo, path, null, yamlText)]
  if (yamlText === null && repo !== '.github')
    scopes.push(nockGetContent(owner, '.github', path, null, null))
  return scopes
}

export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none'

/** GET /repos/{owner}/{repo}/collaborators/{username}/permission → the user's role. */
export function nockGetCollaboratorPermission(
  owner: string,
  repo: string,
  user: string,
  role: RepoRole,
): nock.Scope {
  // `permission` is the legacy field (admin/write/read/none); `role_name` carries the fine role.
  const legacy = {
    admin: 'admin',
    maintain: 'write',
    write: 'write',
    triage: 'read',
    read: 'read',
    none: 'none',
  }
  return nock(API)
    .get(`/repos/${owner}/${repo}/collaborators/${user}/permission`)
    .reply(200, {
      permission: legacy[role],
      role_name: role,
      user: {
        login: user,
        id: 1,
        type: 'User',
        permissions: {
          admin: role === 'admin',
          push: legacy[role] !== 'read' && role !== 'none',
          pull: role !== 'none',
        },
      },
    })
}

/** GET /app (as the app, with its JWT) and GET /users/{slug}[bot]: the bot identity commits use. */
export function nockBotIdentity(slug = 'devsys', botId = 41898282): nock.Scope {
  return nock(API)
    .get('/app')
    .reply(200, {
      id: 1,
      slug,
      name: 'DevSys',
      owner: { login: 'octo-org' },
      html_url: `https://github.com/apps/${slug}`,
    })
    .get(`/users/${encodeURIComponent(`${slug}[bot]`)}`)
    .reply(200, { login: `${slug}[bot]`, id: botId, type: 'Bot' })
}

/** GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=open → the open PRs from `branch`. */
export function nockListPulls(
  owner: string,
  repo: string,
  branch: string,
  numbers: number[] = [],
): nock.Scope {
  return nock(API)
    .get(`/repos/${owner}/${repo}/pulls`)
    .query({ head: `${owner}:${branch}`, state: 'open', per_page: '1' })
    .reply(
      200,
      numbers.map((number) => ({
        number,
        html_url: `https://github.com/${owner}/${repo}/pull/${number}`,
      })),
    )
}

/** Fields of a pull request body that tests assert on. */
export interface PullBody {
  title?: string
  body?: string
  head?: string
  base?: string
  draft?: boolean
}

/** POST /repos/{owner}/{repo}/pulls → 201 with PR `number`. */
export function nockCreatePull(owner: string, repo: string, number: number): Captured<PullBody> {
  return mockJson<PullBody>('post', `/repos/${owner}/${repo}/pulls`, 201, (sent) => ({
    number,
    html_url: `https://github.com/${owner}/${repo}/pull/${number}`,
    draft: sent.draft ?? false,
    title: sent.title,
    state: 'open',
  }))
}

/** PATCH /repos/{owner}/{repo}/pulls/{number} → 200. */
export function nockUpdatePull(
  owner: string,
  repo: string,
  number: number,
  draft = true,
): Captured<PullBody> {
  return mockJson<PullBody>('patch', `/repos/${owner}/${repo}/pulls/${number}`, 200, (sent) => ({
    number,
    html_url: `https://github.com/${owner}/${repo}/pull/${number}`,
    draft,
    title: sent.title,
    state: 'open',
  }))
}

/** Fields of a deployment or deployment status request that tests assert on. */
export interface DeploymentBody {
  ref?: string
  environment?: string
  state?: string
  description?: string
  environment_url?: string
  production_environment?: boolean
  [key: string]: unknown
}

/** POST /repos/{owner}/{repo}/deployments → 201 with deployment `id`. */
export function nockCreateDeployment(
  owner: string,
  repo: string,
  id: number,
): Captured<DeploymentBody> {
  return mockJson<DeploymentBody>('post', `/repos/${owner}/${repo}/deployments`, 201, (sent) => ({
    id,
    node_id: `DE_${id}`,
    sha: sent.ref,
    ref: sent.ref,
    task: 'deploy',
    environment: sent.environment,
    url: `${API}/repos/${owner}/${repo}/deployments/${id}`,
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
  }))
}

/** POST /repos/{owner}/{repo}/deployments/{id}/statuses → 201; one call per status. */
export function nockDeploymentStatus(
  owner: string,
  repo: string,
  id: number,
): Captured<DeploymentBody> {
  return mockJson<DeploymentBody>(
    'post',
    `/repos/${owner}/${repo}/deployments/${id}/statuses`,
    201,
    (sent) => ({
      id: id * 100,
      state: sent.state,
      description: sent.description ?? '',
      environment_url: sent.environment_url ?? '',
      url: `${API}/repos/${owner}/${repo}/deployments/${id}/statuses/${id * 100}`,
    }),
  )
}

/** GET /repos/{owner}/{repo}/commits/{sha}/pulls → the merged pull requests of a commit. */
export function nockCommitPulls(
  owner: string,
  repo: string,
  sha: string,
  numbers: number[],
): nock.Scope {
  return nock(API)
    .get(`/repos/${owner}/${repo}/commits/${sha}/pulls`)
    .reply(
      200,
      numbers.map((number) => ({
        number,
        state: 'closed',
        merged_at: '2025-01-01T00:00:00Z',
        html_url: `https://github.com/${owner}/${repo}/pull/${number}`,
      })),
    )
}

/**
 * GET /repos/{owner}/{repo}/branches/{branch} → the branch and its head commit. `head` may be a
 * function, read when the request arrives (the real remote's head at that moment).
 */
export function nockGetBranch(
  owner: string,
  repo: string,
  branch: string,
  head: string | (() => string),
): nock.Scope {
  return nock(API)
    .get(`/repos/${owner}/${repo}/branches/${branch}`)
    .reply(() => {
      const sha = typeof head === 'string' ? head : head()
      return [
        200,
        {
          name: branch,
          commit: { sha, url: `${API}/repos/${owner}/${repo}/commits/${sha}` },
          protected: false,
        },
      ]
    })
}
