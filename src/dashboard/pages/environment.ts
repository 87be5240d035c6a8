import type { Deployment } from '../../store/store.js'
import { csrfOf, type View } from '../dashboard-deps.js'
import { type Html, href, html, layout, safeUrl, shortId, when } from '../html.js'
import { roleOn } from '../principal.js'
import { atLeast } from '../roles.js'
import { acceptance, stateBadge, taskCell, taskReader } from './environments.js'

const REPO = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/
const ENVIRONMENT = /^[a-z0-9][a-z0-9-]{0,62}$/

/** The repository and environment a page or form names, or undefined when malformed. */
export function readTarget(params: URLSearchParams): { repo: string; env: string } | undefined {
  const repo = params.get('repo') ?? ''
  const env = params.get('env') ?? ''
  return REPO.test(repo) && ENVIRONMENT.test(env) ? { repo, env } : undefined
}

/**
 * The deployment a rollback would take out: the environment's live one (its newest success),
 * when it belongs to a task (rollbacks go through the task, as `/rollback` does).
 */
export function rollbackCandidate(history: Deployment[]): Deployment | undefined {
  const live = history.find((d) => d.state === 'success')
  return live?.taskId == null ? undefined : live
}

/** `/dashboard/env?repo=&env=`: an environment's deploy history, with Roll back for operators. */
export async function environmentPage(view: View): Promise<Html | undefined> {
  const target = readTarget(view.url.searchParams)
  if (target === undefined) return undefined
  const role = await roleOn(view.principal, view.deps.roles, target.repo, {
    environment: target.env,
  })
  if (!atLeast(role, 'viewer')) return undefined
  const history = await view.deps.store.listDeployments({
    repo: target.repo,
    environment: target.env,
    limit: 50,
  })
  const candidate = atLeast(role, 'operator') ? rollbackCandidate(history) : undefined
  const audit = await auditOf(view, target, history)
  const taskOf = taskReader(view)
  const rows: Html[] = []
  for (const d of history) {
    const task = await taskOf(d.repo, d.taskId)
    const action =
      d === candidate
        ? html`<a class="button" href="${href('/dashboard/rollback', { repo: d.repo, env: d.environment, deployment: d.id })}">Roll back</a>`
        : ''
    rows.push(html`<tr data-deployment="${d.id}">
      <td data-label="#">${d.id}</td>
      <td data-label="State">${stateBadge(d)}${d.rollbackOf === null ? '' : html` <span class="muted">rollback of #${d.rollbackOf}</span>`}</td>
      <td data-label="Release">${shortId(d.releaseId)}</td>
      <td data-label="Commit">${shortId(d.commitSha)}</td>
      <td data-label="Task / PR">${taskCell(d.repo, d, task)}</td>
      <td data-label="By">${d.actor} <span class="muted">(${d.trigger})</span></td>
      <td data-label="When">${when(d.createdAt)}</td>
      <td data-label="Acceptance">${acceptance(d)}${d.error ? html`<br><span class="bad">${d.error}</span>` : ''}</td>
      <td>${action}</td>
    </tr>`)
  }
  const body = html`<p><strong>${target.repo}</strong> · your role: ${role}${d0url(history[0])}</p>
${
  rows.length === 0
    ? html`<p class="muted">No deploys of ${target.env} yet.</p>`
    : html`<table>
  <thead><tr><th>#</th><th>State</th><th>Release</th><th>Commit</th><th>Task / PR</th><th>By</th><th>When</th><th>Acceptance</th><th></th></tr></thead>
  <tbody>${rows}</tbody>
</table>`
}
<h2>Recent actions</h2>
${
  audit.length === 0
    ? html`<p class="muted">No recorded actions on these deploys.</p>`
    : html`<table class="audit">
  <thead><tr><th>When</th><th>Who</th><th>Action</th><th>On</th><th>Via</th></tr></thead>
  <tbody>${audit.map(
    (e) => html`<tr><td data-label="When">${when(e.at)}</td><td data-label="Who">${e.actor}</td>
      <td data-label="Action">${e.action}</td><td data-label="On">${e.subject}</td>
      <td data-label="Via">${String(e.details.via ?? '')}</td></tr>`,
  )}</tbody>
</table>`
}`
  return layout(
    {
      title: `${target.env} of ${target.repo}`,
      user: { name: view.principal.login, csrf: csrfOf(view.principal) },
      live: true,
    },
    body,
  )
}

/** The audit records about this environment's deploys and lock, newest first (20 at most). */
async function auditOf(view: View, target: { repo: string; env: string }, history: Deployment[]) {
  const subjects = new Set([
    ...history.map((d) => `deployment:${d.id}`),
    `lock:${target.repo}:${target.env}`,
  ])
  // The repository's records, newest first; those about this environment's deploys and lock.
  const events = await view.deps.store.queryAudit({ repo: target.repo, limit: 500 })
  return events
    .filter((e) => subjects.has(e.subject) || e.target.environment === target.env)
    .slice(0, 20)
}

function d0url(d: Deployment | undefined): Html | string {
  return d?.url ? html` · <a href="${safeUrl(d.url)}">${d.url}</a>` : ''
}
