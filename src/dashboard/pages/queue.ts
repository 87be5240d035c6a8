import type { Job } from '../../queue/queue.js'
import { redact } from '../../secrets/redact.js'
import { csrfOf, lockTarget, type View } from '../dashboard-deps.js'
import { type Html, html, layout, when } from '../html.js'
import { roleOn } from '../principal.js'
import { atLeast } from '../roles.js'
import { visibleRepos } from './environments.js'
import { type ActionResult, refusal } from './rollback.js'

/** The repository a job acts on ('owner/name'), from its payload, if it names one. */
function jobRepo(job: Job): string | undefined {
  const repo = (job.payload as { repo?: unknown } | null)?.repo
  if (typeof repo === 'string') return repo
  const full = (repo as { fullName?: unknown } | undefined)?.fullName
  return typeof full === 'string' ? full : undefined
}

/** How many of the newest failed jobs the page reads to list the latest ten a viewer may see. */
const RECENT_FAILURES_READ = 200

/** `/dashboard/queue`: jobs per kind and state, recent failures, and the deploy locks. */
export async function queuePage(view: View): Promise<Html> {
  const { queue, store } = view.deps
  const [jobCounts, failed, locks] = await Promise.all([
    queue.countJobs(),
    // The latest failures to show: the newest, of which those the viewer may see.
    queue.listJobs({ state: 'failed', newest: RECENT_FAILURES_READ }),
    store.listDeployLocks(),
  ])
  const counts = new Map<string, { queued: number; running: number; failed: number }>()
  for (const { kind, state, count } of jobCounts) {
    const c = counts.get(kind) ?? { queued: 0, running: 0, failed: 0 }
    c[state] = count
    counts.set(kind, c)
  }
  const visible = await visibleRepos(view, [
    ...failed.flatMap((j) => jobRepo(j) ?? []),
    ...locks.map((l) => lockTarget(l.env).repo),
  ])
  const csrf = csrfOf(view.principal)
  const now = new Date().toISOString()
  const kindRows = [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([kind, c]) => html`<tr data-kind="${kind}"><td data-label="Kind">${kind}</td>
        <td data-label="Queued">${c.queued}</td><td data-label="Running">${c.running}</td>
        <td data-label="Failed" class="${c.failed > 0 ? 'bad' : ''}">${c.failed}</td></tr>`,
    )
  const failures = failed
    .filter((j) => {
      const repo = jobRepo(j)
      return repo !== undefined && visible.has(repo)
    })
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
    .slice(0, 10)
    .map(
      (
        j,
      ) => html`<tr><td data-label="Kind">${j.kind}</td><td data-label="Repository">${jobRepo(j)}</td>
        <td data-label="When">${when(j.updatedAt)}</td><td data-label="Attempts">${j.attempts}</td>
        <td data-label="Error"><code>${redact(j.lastError ?? '').slice(0, 300)}</code></td></tr>`,
    )
  const lockRows: Html[] = []
  for (const lock of locks) {
    const { repo, environment } = lockTarget(lock.env)
    const role = visible.get(repo)
    if (role === undefined) continue
    const release = atLeast(role, 'admin')
      ? html`<form method="post" action="/dashboard/locks/release" class="inline">
          ${csrf === undefined ? '' : html`<input type="hidden" name="csrf" value="${csrf}">`}
          <input type="hidden" name="env" value="${lock.env}">
          <input type="hidden" name="owner" value="${lock.owner}">
          <button type="submit" class="danger">Release lock</button></form>`
      : ''
    lockRows.push(html`<tr data-lock="${lock.env}"><td data-label="Repository">${repo}</td>
      <td data-label="Environment">${environment}</td><td data-label="Holder">${lock.owner}</td>
      <td data-label="Reason">${lock.reason}</td><td data-label="Since">${when(lock.acquiredAt)}</td>
      <td data-label="Expires">${when(lock.expiresAt)}${lock.expiresAt <= now ? html` <span class="warn">(expired)</span>` : ''}</td>
      <td>${release}</td></tr>`)
  }
  const body = html`<h2>Jobs</h2>
${
  kindRows.length === 0
    ? html`<p class="muted">No queued, running or failed jobs.</p>`
    : html`<table><thead><tr><th>Kind</th><th>Queued</th><th>Running</th><th>Failed</th></tr></thead><tbody>${kindRows}</tbody></table>`
}
<h2>Recent failures</h2>
${
  failures.length === 0
    ? html`<p class="muted">None in repositories you can see.</p>`
    : html`<table><thead><tr><th>Kind</th><th>Repository</th><th>When</th><th>Attempts</th><th>Error</th></tr></thead><tbody>${failures}</tbody></table>`
}
<h2>Deploy locks</h2>
${
  lockRows.length === 0
    ? html`<p class="muted">No environment is locked.</p>`
    : html`<table><thead><tr><th>Repository</th><th>Environment</th><th>Holder</th><th>Reason</th><th>Since</th><th>Expires</th><th></th></tr></thead><tbody>${lockRows}</tbody></table>`
}`
  return layout(
    { title: 'Queue health', user: { name: view.principal.login, csrf }, live: true },
    body,
  )
}

/**
 * `POST /dashboard/locks/release` (CSRF-checked by the caller): frees an environment's deploy
 * lock for an admin of its repository (asked afresh), only while the holder shown still holds
 * it; audited.
 */
export async function postReleaseLock(view: View, form: URLSearchParams): Promise<ActionResult> {
  const env = form.get('env') ?? ''
  const owner = form.get('owner') ?? ''
  const { repo, environment } = lockTarget(env)
  if (environment === '' || owner === '') {
    return refusal(view, 400, 'No lock named', 'The request does not name a lock and its holder.')
  }
  const role = await roleOn(view.principal, view.deps.roles, repo, { fresh: true, environment })
  if (!atLeast(role, 'admin')) {
    return refusal(
      view,
      403,
      'Not allowed',
      `Releasing a deploy lock needs admin permission on ${repo}.`,
    )
  }
  const released = await view.deps.store.releaseDeployLock(env, owner)
  await view.deps.store.audit({
    actor: view.principal.login,
    via: 'dashboard',
    action: released ? 'deploy.lock-released' : 'deploy.lock-release-missed',
    subject: `lock:${env}`,
    target: { repo, environment },
    before: { holder: owner },
    after: released ? { holder: null } : { holder: 'changed' },
    requestId: view.requestId,
    sourceIp: view.sourceIp,
    result: released ? 'ok' : 'refused',
    details: { via: 'dashboard', repo, environment, holder: owner },
  })
  if (!released) {
    return refusal(
      view,
      409,
      'Lock changed',
      `${owner} no longer holds the lock of ${environment}; open the queue page again.`,
    )
  }
  return { kind: 'redirect', location: '/dashboard/queue' }
}
