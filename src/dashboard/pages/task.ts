import type { TestCase } from '../../../runner/junit/types.js'
import { type TestRun, taskSubject } from '../../store/store.js'
import { csrfOf, type View } from '../dashboard-deps.js'
import { type Html, href, html, layout, safeUrl, shortId, when } from '../html.js'
import { roleOn } from '../principal.js'
import { atLeast } from '../roles.js'
import { acceptance, stateBadge } from './environments.js'

interface Step {
  at: string
  what: Html
}

/**
 * `/dashboard/task?repo=&id=`: a task's timeline, oldest first: manifest → pull request → test
 * runs → deploys (with verification) → rollbacks, and what the audit log recorded about it.
 */
export async function taskPage(view: View): Promise<Html | undefined> {
  const repo = view.url.searchParams.get('repo') ?? ''
  const id = view.url.searchParams.get('id') ?? ''
  if (repo === '' || id === '') return undefined
  if (!atLeast(await roleOn(view.principal, view.deps.roles, repo), 'viewer')) return undefined
  const { store } = view.deps
  const task = await store.getTask({ repo, id })
  if (task === undefined) return undefined
  const [tests, deploys, audit, incidents] = await Promise.all([
    store.latestTestRun({ repo, id }),
    store.listDeployments({ repo, taskId: id, limit: 100 }),
    store.listAudit(taskSubject({ repo, id })),
    store.queryAudit({ repo, action: 'incident.*', limit: 200 }),
  ])
  const steps: Step[] = [
    {
      at: task.createdAt,
      what: html`Manifest accepted from ${task.source.kind}${
        task.source.url ? html` (<a href="${safeUrl(task.source.url)}">source</a>)` : ''
      } by ${task.source.requester}`,
    },
  ]
  const pr = task.code?.pullRequest
  if (task.code) {
    steps.push({
      at: task.updatedAt,
      what: html`Code on <code>${task.code.branch}</code> at ${shortId(task.code.headSha)}${
        pr ? html`, pull request <a href="${safeUrl(pr.url)}">#${pr.number}</a>` : ''
      }`,
    })
  }
  if (tests) {
    const summary = tests.summary as { failed?: number; passed?: number } | null
    steps.push({
      at: tests.completedAt ?? tests.createdAt,
      what: html`Tests on ${shortId(tests.headSha)}: <span class="state ${tests.conclusion === 'success' ? 'success' : 'failure'}">${tests.conclusion ?? tests.state}</span>${
        summary ? html` (${summary.failed ?? 0} failed, ${summary.passed ?? 0} passed)` : ''
      }${failuresOf(tests)}`,
    })
  }
  for (const d of deploys) {
    const kind = d.trigger === 'rollback' ? 'Rollback' : 'Deploy'
    steps.push({
      at: d.createdAt,
      what: html`${kind} #${d.id} to <a href="${href('/dashboard/env', { repo, env: d.environment })}">${d.environment}</a>
        of ${shortId(d.commitSha)} by ${d.actor}: ${stateBadge(d)} · acceptance ${acceptance(d)}`,
    })
  }
  // Incidents of the environments this task went to, from its first deploy there on.
  const firstDeploy = new Map<string, string>()
  for (const d of deploys) {
    const seen = firstDeploy.get(d.environment)
    if (seen === undefined || d.createdAt < seen) firstDeploy.set(d.environment, d.createdAt)
  }
  for (const incident of incidents) {
    const env = incident.target.environment
    const since = env === null ? undefined : firstDeploy.get(env)
    if (env === null || since === undefined || incident.at < since) continue
    const issue = incident.details.issue
    const opened = incident.action === 'incident.opened'
    steps.push({
      at: incident.at,
      what: html`<span class="${opened ? 'bad' : 'ok'}">${opened ? 'Incident opened' : 'Incident resolved'}</span>
        on <a href="${href('/dashboard/env', { repo, env })}">${env}</a>${
          typeof issue === 'number' ? html` (issue #${issue})` : ''
        } by the monitor`,
    })
  }
  for (const event of audit) {
    steps.push({
      at: event.at,
      what: html`<span class="muted">${event.action} by ${event.actor}</span>`,
    })
  }
  steps.sort((a, b) => a.at.localeCompare(b.at))
  const body = html`<p><strong>${task.title}</strong> · ${repo} · status ${task.status}</p>
<ol class="timeline">${steps.map((s) => html`<li>${when(s.at)}<br>${s.what}</li>`)}</ol>`
  return layout(
    {
      title: `Task ${id}`,
      user: { name: view.principal.login, csrf: csrfOf(view.principal) },
      live: true,
    },
    body,
  )
}

/** How many failing cases a timeline lists (the check run has them all). */
const FAILURES_SHOWN = 10

/**
 * The run's failing and erroring cases, as its check run annotates them: where (file:line) and
 * the message; nothing when it has none or no report.
 */
export function failuresOf(run: Pick<TestRun, 'report'>): Html | string {
  const cases = (run.report as { cases?: TestCase[] } | null)?.cases
  if (!Array.isArray(cases)) return ''
  const failing = cases.filter((c) => c.status === 'failed' || c.status === 'errored')
  if (failing.length === 0) return ''
  const shown = failing.slice(0, FAILURES_SHOWN)
  const more = failing.length - shown.length
  return html`<ul class="failures">${shown.map(
    (c) =>
      html`<li><code>${c.file === undefined ? c.suite : `${c.file}${c.line === undefined ? '' : `:${c.line}`}`}</code> ${c.name}${
        c.message ? html`: ${c.message}` : ''
      }</li>`,
  )}${more > 0 ? html`<li class="muted">and ${more} more (see the check run)</li>` : ''}</ul>`
}
