/**
 * The issue routes of the repository fake (github-repo-routes.ts): list, create and update
 * issues, kept in the fake's state, answered as GitHub's `issue` objects (built from its own
 * example). As on GitHub, pull requests are issues too: they share the numbers and the list of
 * issues shows them, with `pull_request`.
 */
import { githubExample } from '../helpers/openapi.js'
import type { Reply, StandinRequest, StandinRoute } from './github-standin.js'

/** An issue as the fake keeps it. */
export interface IssueState {
  title: string
  body: string
  labels: string[]
  state: 'open' | 'closed'
  stateReason: 'completed' | 'not_planned' | 'reopened' | null
  createdAt: string
  updatedAt: string
  closedAt: string | null
}

/** What the list needs to know of a pull request: it is an issue too. */
export interface PullAsIssue {
  number: number
  title: string
  body: string
  open: boolean
}

export interface IssueRouteOptions {
  owner: string
  repo: string
  apiUrl: string
  issues: Map<number, IssueState>
  /** The next free number (issues and pull requests share them). */
  nextNumber(): number
  pulls(): PullAsIssue[]
  /** Who creates and updates issues (the app's bot). */
  bot: { login: string; id: number; type: string }
  now?: () => Date
}

const WEB = 'https://github.example.test'

/** `GET/POST /repos/{owner}/{repo}/issues` and `PATCH …/issues/{issue_number}`. */
export function issueRoutes(opts: IssueRouteOptions): StandinRoute[] {
  const base = `/repos/${opts.owner}/${opts.repo}`
  const now = () => (opts.now ?? (() => new Date()))().toISOString()
  const json = (status: number, body: unknown): Reply => ({ status, body })
  const bodyOf = (r: StandinRequest) => (r.body ?? {}) as Record<string, unknown>
  const invalid = (field: string, message: string) =>
    json(422, {
      message: 'Validation Failed',
      errors: [{ resource: 'Issue', code: 'invalid', field, message }],
      documentation_url: 'https://docs.github.com/rest/issues/issues',
      status: '422',
    })
  const issue = (number: number, i: IssueState) => issueObject(opts, number, i)

  return [
    {
      route: `GET ${base}/issues`,
      reply: (r) => {
        const wanted = r.query.get('state') ?? 'open'
        if (!['open', 'closed', 'all'].includes(wanted)) return invalid('state', 'invalid state')
        // `labels`: a comma-separated list; an issue is listed when it has every one of them.
        const labels = (r.query.get('labels') ?? '')
          .split(',')
          .map((l) => l.trim().toLowerCase())
          .filter((l) => l !== '')
        const perPage = Math.min(100, Number(r.query.get('per_page') ?? 30) || 30)
        const page = Math.max(1, Number(r.query.get('page') ?? 1) || 1)
        const all = [
          ...[...opts.issues].map(([number, i]) => issue(number, i)),
          ...opts.pulls().map((p) => pullIssueObject(opts, p)),
        ]
        const listed = all
          .filter((i) => wanted === 'all' || i.state === wanted)
          .filter((i) =>
            labels.every((l) =>
              (i.labels as { name: string }[]).some((x) => x.name.toLowerCase() === l),
            ),
          )
          // GitHub's default order: newest first.
          .sort((a, b) => Number(b.number) - Number(a.number))
        return json(200, listed.slice((page - 1) * perPage, page * perPage))
      },
    },
    {
      route: `POST ${base}/issues`,
      reply: (r) => {
        const b = bodyOf(r)
        if (typeof b.title !== 'string' || b.title.trim() === '')
          return invalid('title', 'title is missing')
        const at = now()
        const number = opts.nextNumber()
        const created: IssueState = {
          title: b.title,
          body: typeof b.body === 'string' ? b.body : '',
          labels: labelNames(b.labels),
          state: 'open',
          stateReason: null,
          createdAt: at,
          updatedAt: at,
          closedAt: null,
        }
        opts.issues.set(number, created)
        return json(201, issue(number, created))
      },
    },
    {
      route: `PATCH ${base}/issues/{issue_number}`,
      reply: (r) => {
        const number = Number(r.params.issue_number)
        const existing = opts.issues.get(number)
        if (!existing) return json(404, { message: 'Not Found' })
        const b = bodyOf(r)
        const at = now()
        if (typeof b.title === 'string') existing.title = b.title
        if (typeof b.body === 'string') existing.body = b.body
        if (b.labels !== undefined) existing.labels = labelNames(b.labels)
        if (b.state === 'closed' && existing.state === 'open') {
          existing.state = 'closed'
          existing.closedAt = at
          existing.stateReason = b.state_reason === 'not_planned' ? 'not_planned' : 'completed'
        } else if (b.state === 'open' && existing.state === 'closed') {
          existing.state = 'open'
          existing.closedAt = null
          existing.stateReason = 'reopened'
        }
        existing.updatedAt = at
        return json(200, issue(number, existing))
      },
    },
  ]
}

/** Label names of a create or update body (`["bug"]` or `[{ "name": "bug" }]`). */
function labelNames(labels: unknown): string[] {
  if (!Array.isArray(labels)) return []
  return labels.flatMap((l: unknown) => {
    if (typeof l === 'string') return [l]
    const name = (l as { name?: unknown } | null)?.name
    return typeof name === 'string' ? [name] : []
  })
}

/** GitHub's example issue with this repository's names and URLs. */
function example(opts: IssueRouteOptions): Record<string, unknown> {
  const text = JSON.stringify(githubExample('issue'))
    .replaceAll('https://api.github.com', opts.apiUrl)
    .replaceAll('https://github.com', WEB)
    .replaceAll('octocat/Hello-World', `${opts.owner}/${opts.repo}`)
  return JSON.parse(text) as Record<string, unknown>
}

function common(opts: IssueRouteOptions, number: number) {
  const repoUrl = `${opts.apiUrl}/repos/${opts.owner}/${opts.repo}`
  const issueUrl = `${repoUrl}/issues/${number}`
  return {
    id: 2_000_000 + number,
    node_id: `I_${number}`,
    url: issueUrl,
    repository_url: repoUrl,
    labels_url: `${issueUrl}/labels{/name}`,
    comments_url: `${issueUrl}/comments`,
    events_url: `${issueUrl}/events`,
    number,
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: 0,
    author_association: 'NONE',
  }
}

function labelObject(opts: IssueRouteOptions, name: string) {
  // A stable id per name, as each label is one object of the repository.
  const id = [...name].reduce((n, c) => (n * 31 + c.charCodeAt(0)) % 1_000_000_007, 7)
  return {
    id,
    node_id: `LA_${id}`,
    url: `${opts.apiUrl}/repos/${opts.owner}/${opts.repo}/labels/${encodeURIComponent(name)}`,
    name,
    description: null,
    color: 'ededed',
    default: false,
  }
}

function issueObject(opts: IssueRouteOptions, number: number, i: IssueState) {
  const ex = example(opts)
  const user = {
    ...(ex.user as object),
    login: opts.bot.login,
    id: opts.bot.id,
    type: opts.bot.type,
  }
  const { pull_request: _notAPull, state_reason: _reason, ...rest } = ex
  return {
    ...rest,
    ...common(opts, number),
    html_url: `${WEB}/${opts.owner}/${opts.repo}/issues/${number}`,
    state: i.state,
    // GitHub's description allows no null here: an issue never closed or reopened has none.
    ...(i.stateReason === null ? {} : { state_reason: i.stateReason }),
    title: i.title,
    body: i.body,
    user,
    labels: i.labels.map((name) => labelObject(opts, name)),
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    closed_by: i.state === 'closed' ? user : null,
  }
}

/** A pull request as the list of issues shows it: an issue with `pull_request`. */
function pullIssueObject(opts: IssueRouteOptions, p: PullAsIssue) {
  const { state_reason: _reason, ...ex } = example(opts)
  const web = `${WEB}/${opts.owner}/${opts.repo}/pull/${p.number}`
  return {
    ...ex,
    ...common(opts, p.number),
    html_url: web,
    state: p.open ? 'open' : 'closed',
    title: p.title,
    body: p.body,
    user: { ...(ex.user as object), login: opts.bot.login, id: opts.bot.id, type: opts.bot.type },
    labels: [],
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
    closed_at: p.open ? null : '2025-01-02T00:00:00Z',
    closed_by: null,
    pull_request: {
      url: `${opts.apiUrl}/repos/${opts.owner}/${opts.repo}/pulls/${p.number}`,
      html_url: web,
      diff_url: `${web}.diff`,
      patch_url: `${web}.patch`,
      // The fake closes a pull request only by merging it.
      merged_at: p.open ? null : '2025-01-02T00:00:00Z',
    },
  }
}
