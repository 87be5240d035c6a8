import type { Deployment, MonitorState, Task } from '../../store/store.js'
import { csrfOf, type View } from '../dashboard-deps.js'
import { type Html, href, html, layout, safeUrl, shortId, when } from '../html.js'
import { roleOn } from '../principal.js'
import { atLeast, type DashboardRole } from '../roles.js'

/** The repositories among `repos` the principal may see, with their role on each. */
export async function visibleRepos(
  view: View,
  repos: Iterable<string>,
): Promise<Map<string, DashboardRole>> {
  const visible = new Map<string, DashboardRole>()
  for (const repo of new Set(repos)) {
    const role = await roleOn(view.principal, view.deps.roles, repo)
    if (atLeast(role, 'viewer')) visible.set(repo, role)
  }
  return visible
}

/** A deployment's state as a coloured word. */
export function stateBadge(d: Deployment): Html {
  return html`<span class="state ${d.state}">${d.state.replace('_', ' ')}</span>${
    d.bad ? html` <span class="bad">(bad)</span>` : ''
  }`
}

/** The acceptance result of a deployment: passed, failed, or not verified. */
export function acceptance(d: Deployment): Html {
  const ok = d.verification?.ok
  if (ok === true) return html`<span class="ok">passed</span>`
  if (ok === false) return html`<span class="bad">failed</span>`
  return html`<span class="muted">not verified</span>`
}

/** The task of a deployment with a link to its timeline, and its pull request. */
export function taskCell(repo: string, d: Deployment, task: Task | undefined): Html {
  if (d.taskId === null) return html`<span class="muted">—</span>`
  const pr = task?.code?.pullRequest
  return html`<a href="${href('/dashboard/task', { repo, id: d.taskId })}">${d.taskId}</a>${
    pr ? html` · <a href="${safeUrl(pr.url)}">#${pr.number}</a>` : ''
  }`
}

/**
 * What the monitor says of the environment: its status, and the open incident issue (linked
 * beside the task's pull request when there is one).
 */
export function monitorCell(state: MonitorState | undefined, task: Task | undefined): Html {
  if (state === undefined) return html`<span class="muted">not checked yet</span>`
  const status = html`<span class="${state.status === 'up' ? 'ok' : 'bad'}">${state.status}</span>`
  if (state.incidentIssue === null) return status
  const pr = task?.code?.pullRequest?.url
  const label = `incident #${state.incidentIssue}`
  const issueUrl = pr?.replace(/\/pull\/\d+$/, `/issues/${state.incidentIssue}`)
  return html`${status} · ${
    issueUrl !== undefined && issueUrl !== pr
      ? html`<a class="bad" href="${safeUrl(issueUrl)}">${label}</a>`
      : html`<span class="bad">${label}</span>`
  }`
}

/** Reads each task once per page. */
export function taskReader(view: View) {
  const tasks = new Map<string, Promise<Task | undefined>>()
  return (repo: string, id: string | null): Promise<Task | undefined> => {
    if (id === null) return Promise.resolve(undefined)
    const key = `${repo}#${id}`
    let task = tasks.get(key)
    if (task === undefined) {
      task = view.deps.store.getTask({ repo, id })
      tasks.set(key, task)
    }
    return task
  }
}

/** `/dashboard`: every repository × environment with what is live there. */
export async function environmentsPage(view: View): Promise<Html> {
  const deployments = await view.deps.store.listDeployments({ limit: 1000 })
  const visible = await visibleRepos(
    view,
    deployments.map((d) => d.repo),
  )
  // Newest first: the first of each environment is its latest, the first success is live.
  const envs = new Map<string, { latest: Deployment; live: Deployment | undefined }>()
  for (const d of deployments) {
    if (!visible.has(d.repo)) continue
    const key = `${d.repo}\n${d.environment}`
    const seen = envs.get(key)
    if (seen === undefined)
      envs.set(key, { latest: d, live: d.state === 'success' ? d : undefined })
    else if (seen.live === undefined && d.state === 'success') seen.live = d
  }
  const taskOf = taskReader(view)
  const rows: Html[] = []
  for (const { latest, live } of envs.values()) {
    const shown = live ?? latest
    const task = await taskOf(shown.repo, shown.taskId)
    const monitor = await view.deps.store.getMonitorState(shown.repo, shown.environment)
    const page = href('/dashboard/env', { repo: shown.repo, env: shown.environment })
    rows.push(html`<tr data-env="${shown.repo}:${shown.environment}">
      <td data-label="Repository">${shown.repo}</td>
      <td data-label="Environment"><a href="${page}">${shown.environment}</a></td>
      <td data-label="Live release">${live ? shortId(live.releaseId) : html`<span class="muted">nothing live</span>`}${
        latest !== live ? html` <span class="muted">· latest:</span> ${stateBadge(latest)}` : ''
      }</td>
      <td data-label="Commit">${shortId(shown.commitSha)}</td>
      <td data-label="Task / PR">${taskCell(shown.repo, shown, task)}</td>
      <td data-label="Deployed by">${shown.actor} <span class="muted">(${shown.trigger})</span></td>
      <td data-label="When">${when(shown.finishedAt ?? shown.createdAt)}</td>
      <td data-label="Acceptance">${acceptance(shown)}</td>
      <td data-label="Monitor">${monitorCell(monitor, task)}</td>
    </tr>`)
  }
  const body =
    rows.length === 0
      ? html`<p class="muted">No deploys yet in a repository you can see.</p>`
      : html`<table>
  <thead><tr><th>Repository</th><th>Environment</th><th>Live release</th><th>Commit</th><th>Task / PR</th><th>Deployed by</th><th>When</th><th>Acceptance</th><th>Monitor</th></tr></thead>
  <tbody>${rows}</tbody>
</table>`
  return layout(
    {
      title: 'Environments',
      user: { name: view.principal.login, csrf: csrfOf(view.principal) },
      live: true,
    },
    body,
  )
}
