import { queueRollback } from '../../api/deploys.js'
import { csrfOf, type View } from '../dashboard-deps.js'
import { type Html, href, html, layout, shortId, when } from '../html.js'
import { roleOn } from '../principal.js'
import { atLeast } from '../roles.js'
import { readTarget, rollbackCandidate } from './environment.js'

/** What a rollback request led to: a page to show, or where to go next. */
export type ActionResult =
  | { kind: 'page'; status: number; page: Html }
  | { kind: 'redirect'; location: string }

/** A page that says why an action was refused, and what to do. */
export function refusal(view: View, status: number, title: string, message: string): ActionResult {
  return {
    kind: 'page',
    status,
    page: layout(
      { title, user: { name: view.principal.login, csrf: csrfOf(view.principal) } },
      html`<p class="notice bad">${message}</p><p><a href="/dashboard">Back to the environments</a></p>`,
    ),
  }
}

/**
 * Checks a rollback of `params` (repo, env, deployment) against GitHub and the history now:
 * the principal is an operator there (asked afresh), and the deployment is still what is live.
 */
async function check(view: View, params: URLSearchParams) {
  const target = readTarget(params)
  const id = Number(params.get('deployment'))
  if (target === undefined || !Number.isInteger(id)) {
    return refusal(
      view,
      400,
      'Nothing to roll back',
      'The request does not name a repository, environment and deployment.',
    )
  }
  const role = await roleOn(view.principal, view.deps.roles, target.repo, {
    fresh: true,
    environment: target.env,
  })
  if (!atLeast(role, 'operator')) {
    return refusal(
      view,
      403,
      'Not allowed',
      `Rolling back needs write permission on ${target.repo}; GitHub gives you ${role === 'none' ? 'no access' : `the ${role} role`}.`,
    )
  }
  const history = await view.deps.store.listDeployments({
    repo: target.repo,
    environment: target.env,
    state: 'success',
    limit: 1,
  })
  const live = rollbackCandidate(history)
  if (live === undefined || live.id !== id || live.taskId === null) {
    return refusal(
      view,
      409,
      'No longer live',
      `Deployment #${id} is not what is live in ${target.env} any more; open the environment again to see what is.`,
    )
  }
  return { target, live, taskId: live.taskId }
}

/** `GET /dashboard/rollback`: the confirmation step, a form that posts the rollback. */
export async function confirmRollback(view: View): Promise<ActionResult> {
  const checked = await check(view, view.url.searchParams)
  if ('kind' in checked) return checked
  const { target, live } = checked
  const back = href('/dashboard/env', { repo: target.repo, env: target.env })
  const csrf = csrfOf(view.principal)
  const page = layout(
    { title: `Roll back ${target.env}?`, user: { name: view.principal.login, csrf } },
    html`<p class="notice">This switches <strong>${target.env}</strong> of <strong>${target.repo}</strong>
back to the release live before ${shortId(live.releaseId)} (task <strong>${live.taskId}</strong>,
commit ${shortId(live.commitSha)}, deployed by ${live.actor} ${when(live.createdAt)}), marks that
release bad and, for a merge, reverts it on the default branch, as <code>/rollback</code> does.</p>
<form method="post" action="/dashboard/rollback">
  ${csrf === undefined ? '' : html`<input type="hidden" name="csrf" value="${csrf}">`}
  <input type="hidden" name="repo" value="${target.repo}">
  <input type="hidden" name="env" value="${target.env}">
  <input type="hidden" name="deployment" value="${live.id}">
  <button type="submit" class="danger">Roll back ${target.env}</button>
  <a href="${back}">Cancel</a>
</form>`,
  )
  return { kind: 'page', status: 200, page }
}

/**
 * `POST /dashboard/rollback` (CSRF-checked by the caller): queues the same rollback job as
 * `POST /api/tasks/:id/rollback` and `/rollback`, for the signed-in login, and audits it.
 */
export async function postRollback(view: View, form: URLSearchParams): Promise<ActionResult> {
  const checked = await check(view, form)
  if ('kind' in checked) return checked
  const { target, live, taskId } = checked
  const task = await view.deps.store.getTask({ repo: target.repo, id: taskId })
  if (task === undefined) {
    return refusal(view, 409, 'Task gone', `Task ${taskId} of ${target.repo} no longer exists.`)
  }
  const queued = await queueRollback(view.deps, task, target.env, view.principal.login)
  const job = queued.kind === 'duplicate-delivery' ? null : queued.job.id
  await view.deps.store.audit({
    actor: view.principal.login,
    via: 'dashboard',
    action: 'deploy.rollback-requested',
    subject: `deployment:${live.id}`,
    target: { repo: target.repo, task: taskId, environment: target.env, release: live.releaseId },
    requestId: view.requestId,
    sourceIp: view.sourceIp,
    result: 'accepted',
    details: { via: 'dashboard', repo: target.repo, environment: target.env, task: taskId, job },
  })
  view.deps.log.info(
    { repo: target.repo, environment: target.env, task: taskId, job, actor: view.principal.login },
    'Dashboard: rollback queued',
  )
  return {
    kind: 'redirect',
    location: href('/dashboard/env', { repo: target.repo, env: target.env }),
  }
}
