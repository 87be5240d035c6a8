/**
 * The REST routes DevSys uses, answered by a small stateful fake of one repository (comments,
 * issues (github-issue-routes.ts), pull requests, check runs, deployments), in the response shapes of test/helpers/github-endpoints.ts.
 * Pull requests are whole objects as GitHub's description defines them (built from its own
 * example, so a field DevSys reads, such as `merged` or `head.repo`, is there as on GitHub).
 * The stand-in records the requests; this keeps the state a user would see on GitHub.
 */
import { execFileSync } from 'node:child_process'
import { githubExample } from '../helpers/openapi.js'
import { type IssueState, issueRoutes } from './github-issue-routes.js'
import type { Reply, StandinRequest, StandinRoute } from './github-standin.js'

/** A pull request as the fake keeps it; its commits are read from the bare repository. */
export interface PullState {
  head: string
  base: string
  draft: boolean
  title: string
  body: string
  /** The merge commit once merged (`merge()`); the PR is then closed. */
  mergeCommit: string | null
}

export interface RepoState {
  comments: Map<number, { issue: number; body: string }>
  /** Issues DevSys opened (incidents); pull requests share their numbers, as on GitHub. */
  issues: Map<number, IssueState>
  pulls: Map<number, PullState>
  checkRuns: Map<number, Record<string, unknown>>
  deployments: Map<
    number,
    { ref: string; environment: string; statuses: Record<string, unknown>[] }
  >
  /** Merged pull request numbers by merge commit (what "commits/{sha}/pulls" answers). */
  merges: Map<string, number>
}

export interface RepoFake {
  state: RepoState
  routes: StandinRoute[]
  /** The check run named `name` on `sha`, as GitHub would show it (latest write wins). */
  checkRun(name: string, sha?: string): Record<string, unknown> | undefined
  /** Records pull request `number` as merged by `mergeCommit`, as GitHub's merge button does. */
  merge(number: number, mergeCommit: string): void
}

const BOT = { login: 'devsys[bot]', id: 99, type: 'Bot' }

/** GitHub refuses comment bodies over 65,536 characters (its OpenAPI description does not say). */
const MAX_COMMENT_CHARS = 65_536
const TOO_LONG = {
  message: 'Validation Failed',
  errors: [
    {
      resource: 'IssueComment',
      code: 'custom',
      field: 'body',
      message: 'body is too long (maximum is 65536 characters)',
    },
  ],
  documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
  status: '422',
}
const tooLong = (body: unknown) => typeof body === 'string' && [...body].length > MAX_COMMENT_CHARS

/**
 * Routes for `owner/repo` whose git data lives in the bare repository `bare` (branches are read
 * from it, so GitHub and git agree). `webUrl` is the html_url base of the fake GitHub.
 */
export function fakeRepo(opts: {
  owner: string
  repo: string
  bare: string
  cloneUrl: string
  apiUrl: string
}): RepoFake {
  const { owner, repo, apiUrl } = opts
  const webUrl = `https://github.example.test/${owner}/${repo}`
  const base = `/repos/${owner}/${repo}`
  const state: RepoState = {
    comments: new Map(),
    issues: new Map(),
    pulls: new Map(),
    checkRuns: new Map(),
    deployments: new Map(),
    merges: new Map(),
  }
  let nextId = 1000
  const id = () => ++nextId
  // Issues and pull requests share one sequence of numbers; the first is 5.
  const nextNumber = () => Math.max(4, ...state.pulls.keys(), ...state.issues.keys()) + 1
  const json = (status: number, body: unknown): Reply => ({ status, body })
  const bodyOf = (r: StandinRequest) => (r.body ?? {}) as Record<string, unknown>
  const num = (r: StandinRequest, name: string) => Number(r.params[name])

  const comment = (commentId: number, issue: number, body: string) => ({
    id: commentId,
    node_id: `IC_${commentId}`,
    body,
    user: BOT,
    html_url: `${webUrl}/issues/${issue}#issuecomment-${commentId}`,
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
  })
  const pull = (number: number) => pullObject(opts, number, state.pulls.get(number))
  const routes: StandinRoute[] = [
    {
      route: 'GET /app',
      reply: () =>
        json(200, {
          id: 1,
          slug: 'devsys',
          name: 'DevSys',
          owner: { login: 'octo-org' },
          html_url: 'https://github.example.test/apps/devsys',
        }),
    },
    {
      // The App's installation on the repository (the monitor and the dashboard ask for it).
      route: `GET ${base}/installation`,
      reply: () =>
        json(200, {
          id: 1234,
          account: { login: owner },
          app_id: 1,
          target_type: 'Organization',
        }),
    },
    {
      route: 'GET /users/{username}',
      reply: (r) => json(200, { login: r.params.username, id: 41898282, type: 'Bot' }),
    },
    {
      route: `GET ${base}`,
      reply: () =>
        json(200, {
          id: 1296269,
          name: repo,
          full_name: `${owner}/${repo}`,
          owner: { login: owner },
          clone_url: opts.cloneUrl,
          html_url: webUrl,
          default_branch: 'main',
        }),
    },
    // Files as they are in the bare repository at `ref` (default `main`); with no
    // `.github/devsys.yml` committed, DevSys uses its defaults.
    {
      route: 'GET /repos/{owner}/{repo}/contents/{path*}',
      reply: (r) => {
        const path = r.params.path ?? ''
        const file = readBlob(opts.bare, r.query.get('ref') ?? 'main', path)
        if (!file) return json(404, { message: 'Not Found' })
        return json(200, {
          type: 'file',
          encoding: 'base64',
          size: file.bytes.length,
          name: path.split('/').at(-1),
          path,
          sha: file.sha,
          content: file.bytes.toString('base64'),
          url: `${apiUrl}${base}/contents/${path}`,
          git_url: `${apiUrl}${base}/git/blobs/${file.sha}`,
          html_url: `${webUrl}/blob/main/${path}`,
          download_url: null,
          _links: { self: `${apiUrl}${base}/contents/${path}`, git: null, html: null },
        })
      },
    },
    {
      route: `GET ${base}/collaborators/{username}/permission`,
      reply: (r) =>
        json(200, {
          permission: 'write',
          role_name: 'write',
          user: { login: r.params.username, id: 1, type: 'User' },
        }),
    },
    {
      route: `POST ${base}/issues/{issue_number}/reactions`,
      reply: (r) => json(201, { id: id(), content: bodyOf(r).content, user: BOT }),
    },
    {
      route: `POST ${base}/issues/comments/{comment_id}/reactions`,
      reply: (r) => json(201, { id: id(), content: bodyOf(r).content, user: BOT }),
    },
    {
      route: `POST ${base}/issues/{issue_number}/comments`,
      reply: (r) => {
        if (tooLong(bodyOf(r).body)) return json(422, TOO_LONG)
        const commentId = id()
        const issue = num(r, 'issue_number')
        const text = String(bodyOf(r).body)
        state.comments.set(commentId, { issue, body: text })
        return json(201, comment(commentId, issue, text))
      },
    },
    {
      route: `PATCH ${base}/issues/comments/{comment_id}`,
      reply: (r) => {
        const commentId = num(r, 'comment_id')
        const existing = state.comments.get(commentId)
        if (!existing) return json(404, { message: 'Not Found' })
        if (tooLong(bodyOf(r).body)) return json(422, TOO_LONG)
        existing.body = String(bodyOf(r).body)
        return json(200, comment(commentId, existing.issue, existing.body))
      },
    },
    ...issueRoutes({
      owner,
      repo,
      apiUrl,
      issues: state.issues,
      nextNumber,
      pulls: () =>
        [...state.pulls].map(([number, p]) => ({
          number,
          title: p.title,
          body: p.body,
          open: p.mergeCommit === null,
        })),
      bot: BOT,
    }),
    {
      route: `GET ${base}/pulls`,
      reply: (r) => {
        const head = r.query.get('head')?.split(':')[1]
        const wanted = r.query.get('state') ?? 'open'
        const listed = [...state.pulls.entries()].filter(
          ([, p]) =>
            (head === undefined || p.head === head) &&
            (wanted === 'all' || wanted === (p.mergeCommit === null ? 'open' : 'closed')),
        )
        return json(
          200,
          listed.map(([number]) => simplePull(pull(number))),
        )
      },
    },
    {
      route: `POST ${base}/pulls`,
      reply: (r) => {
        const b = bodyOf(r)
        const number = nextNumber()
        state.pulls.set(number, {
          head: String(b.head),
          base: String(b.base),
          draft: b.draft === true,
          title: String(b.title),
          body: String(b.body ?? ''),
          mergeCommit: null,
        })
        return json(201, pull(number))
      },
    },
    {
      route: `GET ${base}/pulls/{pull_number}`,
      reply: (r) =>
        state.pulls.has(num(r, 'pull_number'))
          ? json(200, pull(num(r, 'pull_number')))
          : json(404, { message: 'Not Found' }),
    },
    {
      route: `PATCH ${base}/pulls/{pull_number}`,
      reply: (r) => {
        const p = state.pulls.get(num(r, 'pull_number'))
        if (!p) return json(404, { message: 'Not Found' })
        const b = bodyOf(r)
        if (typeof b.title === 'string') p.title = b.title
        if (typeof b.body === 'string') p.body = b.body
        return json(200, pull(num(r, 'pull_number')))
      },
    },
    {
      // markPullRequestReadyForReview, the one mutation DevSys sends.
      route: 'POST /graphql',
      reply: (r) => {
        const variables = (bodyOf(r).variables ?? {}) as Record<string, unknown>
        const number = Number(String(variables.id ?? variables.pullRequestId ?? '').slice(3))
        const p = state.pulls.get(number)
        if (p) p.draft = false
        return json(200, {
          data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } },
        })
      },
    },
    {
      route: `POST ${base}/check-runs`,
      reply: (r) => {
        const runId = id()
        const run = { ...bodyOf(r), id: runId }
        state.checkRuns.set(runId, run)
        return json(201, checkRunReply(run, webUrl))
      },
    },
    {
      route: `PATCH ${base}/check-runs/{check_run_id}`,
      reply: (r) => {
        const run = state.checkRuns.get(num(r, 'check_run_id'))
        if (!run) return json(404, { message: 'Not Found' })
        Object.assign(run, bodyOf(r))
        return json(200, checkRunReply(run, webUrl))
      },
    },
    {
      route: `GET ${base}/commits/{ref}/check-runs`,
      reply: (r) => {
        const runs = [...state.checkRuns.values()].filter(
          (c) =>
            c.head_sha === r.params.ref &&
            (r.query.get('check_name') === null || c.name === r.query.get('check_name')),
        )
        return json(200, {
          total_count: runs.length,
          check_runs: runs.map((c) => checkRunReply(c, webUrl)),
        })
      },
    },
    {
      route: `GET ${base}/branches/{branch}`,
      reply: (r) => {
        const sha = revParse(opts.bare, r.params.branch ?? '')
        if (!sha) return json(404, { message: 'Branch not found' })
        return json(200, {
          name: r.params.branch,
          commit: { sha, url: `${apiUrl}${base}/commits/${sha}` },
          protected: false,
        })
      },
    },
    {
      route: `GET ${base}/commits/{commit_sha}/pulls`,
      reply: (r) => {
        const number = state.merges.get(r.params.commit_sha ?? '')
        return json(200, number === undefined ? [] : [simplePull(pull(number))])
      },
    },
    {
      route: `POST ${base}/deployments`,
      reply: (r) => {
        const b = bodyOf(r)
        const deploymentId = id()
        state.deployments.set(deploymentId, {
          ref: String(b.ref),
          environment: String(b.environment ?? 'production'),
          statuses: [],
        })
        return json(201, {
          id: deploymentId,
          node_id: `DE_${deploymentId}`,
          sha: b.ref,
          ref: b.ref,
          task: 'deploy',
          environment: b.environment,
          url: `${apiUrl}${base}/deployments/${deploymentId}`,
          created_at: '2025-01-01T00:00:00Z',
          updated_at: '2025-01-01T00:00:00Z',
        })
      },
    },
    {
      route: `POST ${base}/deployments/{deployment_id}/statuses`,
      reply: (r) => {
        const deployment = state.deployments.get(num(r, 'deployment_id'))
        if (!deployment) return json(404, { message: 'Not Found' })
        const b = bodyOf(r)
        deployment.statuses.push(b)
        return json(201, {
          id: id(),
          state: b.state,
          description: b.description ?? '',
          environment_url: b.environment_url ?? '',
          url: `${apiUrl}${base}/deployments/${r.params.deployment_id}/statuses/${nextId}`,
        })
      },
    },
  ]

  return {
    state,
    routes,
    merge(number, mergeCommit) {
      const p = state.pulls.get(number)
      if (!p) throw new Error(`the repository fake has no pull request #${number}`)
      p.mergeCommit = mergeCommit
      p.draft = false
      state.merges.set(mergeCommit, number)
    },
    checkRun(name, sha) {
      return [...state.checkRuns.values()]
        .reverse()
        .find((c) => c.name === name && (sha === undefined || c.head_sha === sha))
    },
  }
}

const MERGED_AT = '2025-01-02T00:00:00Z'

/**
 * Pull request `number` as `GET /pulls/{number}` answers it: GitHub's example pull request with
 * this repository's names, URLs and commits, its head and base repository this one.
 */
function pullObject(
  opts: { owner: string; repo: string; bare: string; cloneUrl: string; apiUrl: string },
  number: number,
  p: PullState | undefined,
): Record<string, unknown> {
  const { owner, repo, apiUrl } = opts
  const web = 'https://github.example.test'
  // The example names octocat/Hello-World on api.github.com; point every URL in it here.
  const text = JSON.stringify(githubExample('pull-request'))
    .replaceAll('https://api.github.com', apiUrl)
    .replaceAll('https://github.com', web)
    .replaceAll('octocat/Hello-World', `${owner}/${repo}`)
  const example = JSON.parse(text) as Record<string, unknown> & {
    head: { repo: Record<string, unknown> & { owner: Record<string, unknown> } }
  }
  const repository = {
    ...example.head.repo,
    name: repo,
    full_name: `${owner}/${repo}`,
    owner: {
      ...example.head.repo.owner,
      login: owner,
      url: `${apiUrl}/users/${owner}`,
      html_url: `${web}/${owner}`,
    },
    html_url: `${web}/${owner}/${repo}`,
    clone_url: opts.cloneUrl,
    default_branch: 'main',
    fork: false,
    private: false,
  }
  const user = { ...(example.user as object), login: BOT.login, id: BOT.id, type: BOT.type }
  const headRef = p?.head ?? ''
  const baseRef = p?.base ?? 'main'
  const headSha = revParse(opts.bare, headRef)
  const merged = p?.mergeCommit ?? null
  // The base as it was when the PR was merged (the merge's first parent), else as it is now.
  const baseSha =
    merged === null ? revParse(opts.bare, baseRef) : revParse(opts.bare, `${merged}^1`)
  const diff = diffStat(opts.bare, baseSha, headSha)
  const pullUrl = `${apiUrl}/repos/${owner}/${repo}/pulls/${number}`
  const issueUrl = `${apiUrl}/repos/${owner}/${repo}/issues/${number}`
  const htmlUrl = `${web}/${owner}/${repo}/pull/${number}`
  const side = (ref: string, sha: string) => ({
    label: `${owner}:${ref}`,
    ref,
    sha,
    user: repository.owner,
    repo: repository,
  })
  return {
    ...example,
    url: pullUrl,
    id: 1_000_000 + number,
    node_id: `PR_${number}`,
    html_url: htmlUrl,
    diff_url: `${htmlUrl}.diff`,
    patch_url: `${htmlUrl}.patch`,
    issue_url: issueUrl,
    commits_url: `${pullUrl}/commits`,
    review_comments_url: `${pullUrl}/comments`,
    review_comment_url: `${apiUrl}/repos/${owner}/${repo}/pulls/comments{/number}`,
    comments_url: `${issueUrl}/comments`,
    statuses_url: `${apiUrl}/repos/${owner}/${repo}/statuses/${headSha}`,
    number,
    state: merged === null ? 'open' : 'closed',
    locked: false,
    title: p?.title ?? '',
    user,
    body: p?.body ?? null,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: '2025-01-01T00:00:00Z',
    updated_at: merged === null ? '2025-01-01T00:00:00Z' : MERGED_AT,
    closed_at: merged === null ? null : MERGED_AT,
    merged_at: merged === null ? null : MERGED_AT,
    merge_commit_sha: merged,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: side(headRef, headSha),
    base: side(baseRef, baseSha),
    _links: {
      self: { href: pullUrl },
      html: { href: htmlUrl },
      issue: { href: issueUrl },
      comments: { href: `${issueUrl}/comments` },
      review_comments: { href: `${pullUrl}/comments` },
      review_comment: { href: `${apiUrl}/repos/${owner}/${repo}/pulls/comments{/number}` },
      commits: { href: `${pullUrl}/commits` },
      statuses: { href: `${apiUrl}/repos/${owner}/${repo}/statuses/${headSha}` },
    },
    author_association: 'NONE',
    auto_merge: null,
    draft: p?.draft ?? false,
    merged: merged !== null,
    mergeable: merged === null ? true : null,
    rebaseable: merged === null ? true : null,
    mergeable_state: merged === null ? 'clean' : 'unknown',
    merged_by: merged === null ? null : { ...repository.owner, login: 'mona', type: 'User' },
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
    ...diff,
  }
}

/** The fields lists of pull requests carry (GitHub's `pull-request-simple`). */
function simplePull(full: Record<string, unknown>): Record<string, unknown> {
  const listed = githubExample('pull-request-simple-items') as Record<string, unknown>[]
  const keys = Object.keys(listed[0] ?? {})
  return Object.fromEntries(Object.entries(full).filter(([key]) => keys.includes(key)))
}

/** Commits, added and deleted lines and changed files from `base` to `head`, as GitHub counts them. */
function diffStat(bare: string, base: string, head: string) {
  if (base === '' || head === '')
    return { commits: 0, additions: 0, deletions: 0, changed_files: 0 }
  const run = (...args: string[]) => execFileSync('git', args, { cwd: bare, encoding: 'utf8' })
  const commits = Number(run('rev-list', '--count', `${base}..${head}`).trim())
  const lines = run('diff', '--numstat', `${base}...${head}`)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'))
  // Binary files show '-' for their line counts.
  const sum = (i: number) => lines.reduce((n, l) => n + (Number(l[i]) || 0), 0)
  return { commits, additions: sum(0), deletions: sum(1), changed_files: lines.length }
}

function checkRunReply(run: Record<string, unknown>, webUrl: string) {
  return {
    id: run.id,
    name: run.name,
    head_sha: run.head_sha,
    status: run.status ?? 'queued',
    conclusion: run.conclusion ?? null,
    html_url: `${webUrl}/runs/${String(run.id)}`,
  }
}

/** The commit `ref` names in the bare repository, or '' when it does not exist. */
export function revParse(bare: string, ref: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '-q', `${ref}^{commit}`], {
      cwd: bare,
      encoding: 'utf8',
    }).trim()
  } catch {
    return ''
  }
}

/** The blob at `ref:path` in the bare repository, or undefined when there is none. */
function readBlob(
  bare: string,
  ref: string,
  path: string,
): { sha: string; bytes: Buffer } | undefined {
  try {
    const sha = execFileSync('git', ['rev-parse', '--verify', '-q', `${ref}:${path}`], {
      cwd: bare,
      encoding: 'utf8',
    }).trim()
    const type = execFileSync('git', ['cat-file', '-t', sha], {
      cwd: bare,
      encoding: 'utf8',
    }).trim()
    if (type !== 'blob') return undefined
    return { sha, bytes: execFileSync('git', ['cat-file', 'blob', sha], { cwd: bare }) }
  } catch {
    return undefined
  }
}
