/**
 * The REST routes DevSys uses, answered by a small stateful fake of one repository (comments,
 * pull requests, check runs, deployments), in the response shapes of test/helpers/github-endpoints.ts.
 * The stand-in records the requests; this keeps the state a user would see on GitHub.
 */
import { execFileSync } from 'node:child_process'
import type { Reply, StandinRequest, StandinRoute } from './github-standin.js'

export interface RepoState {
  comments: Map<number, { issue: number; body: string }>
  pulls: Map<number, { head: string; base: string; draft: boolean; title: string; body: string }>
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
}

const BOT = { login: 'devsys[bot]', id: 99, type: 'Bot' }

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
    pulls: new Map(),
    checkRuns: new Map(),
    deployments: new Map(),
    merges: new Map(),
  }
  let nextId = 1000
  const id = () => ++nextId
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
  const pull = (number: number) => {
    const p = state.pulls.get(number)
    return {
      number,
      node_id: `PR_${number}`,
      html_url: `${webUrl}/pull/${number}`,
      state: 'open',
      draft: p?.draft ?? false,
      title: p?.title ?? '',
      head: { ref: p?.head ?? '', sha: p ? revParse(opts.bare, p.head) : '' },
      base: { ref: p?.base ?? 'main' },
    }
  }

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
        existing.body = String(bodyOf(r).body)
        return json(200, comment(commentId, existing.issue, existing.body))
      },
    },
    {
      route: `GET ${base}/pulls`,
      reply: (r) => {
        const head = r.query.get('head')?.split(':')[1]
        const open = [...state.pulls.entries()].filter(
          ([, p]) => head === undefined || p.head === head,
        )
        return json(
          200,
          open.map(([number]) => pull(number)),
        )
      },
    },
    {
      route: `POST ${base}/pulls`,
      reply: (r) => {
        const b = bodyOf(r)
        const number = state.pulls.size + 5
        state.pulls.set(number, {
          head: String(b.head),
          base: String(b.base),
          draft: b.draft === true,
          title: String(b.title),
          body: String(b.body ?? ''),
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
        return json(
          200,
          number === undefined
            ? []
            : [{ ...pull(number), state: 'closed', merged_at: '2025-01-01T00:00:00Z' }],
        )
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
    checkRun(name, sha) {
      return [...state.checkRuns.values()]
        .reverse()
        .find((c) => c.name === name && (sha === undefined || c.head_sha === sha))
    },
  }
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
