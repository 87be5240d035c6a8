import type { Logger } from 'pino'
import type { Enqueue, GitHubClient } from '../app-deps.js'
import {
  formatIncidentChanged,
  formatIncidentOpened,
  formatIncidentReminder,
  formatIncidentResolved,
  formatIncidentTitle,
} from '../report/format-incident.js'
import {
  closeIncident,
  commentOnIncident,
  findOpenIncident,
  openIncidentIssue,
} from '../report/incident-issue.js'
import type { Deployment, MonitorState, MonitorStore } from '../store/store.js'
import {
  monitorRollbackClaim,
  type RollbackPayload,
  rollbackJobKey,
} from '../triggers/job-payloads.js'
import type { IncidentEvent, OnIncident } from './incident-event.js'
import type { MonitorSettings } from './monitor-settings.js'

/** Who the monitor's automatic rollbacks are recorded as done by. */
export const MONITOR_ACTOR = 'devsys-monitor'

export interface AlertContext {
  github: GitHubClient
  store: Pick<MonitorStore, 'saveMonitorState'>
  enqueue: Enqueue
  installationId: number
  live: Deployment
  pullRequest: number | null
  url: string | null
  settings: MonitorSettings
  now: number
  onIncident?: OnIncident | undefined
  log: Logger
}

/**
 * Sends the alert `state.pending` owes and saves the state without it. A crash before that
 * save sends it again at the next check: opening finds the issue it created, closing an
 * issue twice changes nothing, so only a comment can repeat, never an incident.
 */
export async function sendAlert(
  ctx: AlertContext,
  state: MonitorState,
): Promise<MonitorState | undefined> {
  const pending = state.pending
  if (pending === null) return state
  const [owner = '', repo = ''] = state.repo.split('/')
  const where = { owner, repo }
  const env = state.environment
  switch (pending.kind) {
    case 'open': {
      const rollingBack = await startAutoRollback(ctx, state)
      // An issue created just before a crash is reused, with its own URL for the notification.
      const issue =
        (await findOpenIncident(ctx.github, where, env)) ??
        (await openIncidentIssue(ctx.github, where, {
          environment: env,
          title: formatIncidentTitle(env, state.failures),
          body: formatIncidentOpened({
            environment: env,
            url: ctx.url,
            failures: state.failures,
            failingSince: state.failingSince ?? pending.at,
            checks: state.consecutiveFailures,
            live: { deployment: ctx.live, pullRequest: ctx.pullRequest },
            intervalSeconds: ctx.settings.intervalMs / 1000,
            successThreshold: ctx.settings.successThreshold,
            rollingBack,
          }),
        }))
      const saved = await ctx.store.saveMonitorState({
        ...state,
        incidentIssue: issue.number,
        ...(rollingBack ? { rolledBack: ctx.live.id } : {}),
        pending: null,
      })
      ctx.log.warn({ environment: env, issue: issue.number, rollingBack }, 'Incident opened')
      await emit(ctx, {
        kind: 'incident.opened',
        repo: state.repo,
        installationId: ctx.installationId,
        environment: env,
        issueNumber: issue.number,
        issueUrl: issue.url,
        at: pending.at,
        failures: state.failures,
        deployment: {
          id: ctx.live.id,
          commitSha: ctx.live.commitSha,
          taskId: ctx.live.taskId,
          pullRequest: ctx.pullRequest,
        },
        autoRollback: rollingBack,
      })
      return saved
    }
    case 'change':
    case 'remind': {
      if (state.incidentIssue !== null) {
        const body =
          pending.kind === 'change'
            ? formatIncidentChanged(env, state.failures)
            : formatIncidentReminder({
                environment: env,
                failingSince: state.failingSince ?? pending.at,
                now: ctx.now,
                failures: state.failures,
              })
        await commentOnIncident(ctx.github, where, state.incidentIssue, body)
      }
      return ctx.store.saveMonitorState({ ...state, pending: null })
    }
    case 'resolve': {
      const issue = state.incidentIssue
      if (issue !== null) {
        const body = formatIncidentResolved({
          environment: env,
          downtimeMs: pending.downtimeMs,
          failingSince: state.failingSince,
          resolvedAt: pending.at,
          checks: state.consecutiveSuccesses,
        })
        await closeIncident(ctx.github, where, issue, body)
      }
      const saved = await ctx.store.saveMonitorState({
        ...state,
        incidentIssue: null,
        failingSince: null,
        failures: [],
        lastAlertAt: null,
        lastReminderAt: null,
        pending: null,
      })
      ctx.log.info({ environment: env, issue, downtimeMs: pending.downtimeMs }, 'Incident resolved')
      if (issue !== null) {
        await emit(ctx, {
          kind: 'incident.resolved',
          repo: state.repo,
          installationId: ctx.installationId,
          environment: env,
          issueNumber: issue,
          at: pending.at,
          downtimeMs: pending.downtimeMs,
        })
      }
      return saved
    }
  }
}

/**
 * Queues the same rollback `/rollback` runs (switch back, mark bad, revert), as done by the
 * monitor, when the environment asks for it and the failing deployment is recent enough.
 * Once per deployment: the delivery id `monitor-rollback:<id>` is recorded with the job.
 */
async function startAutoRollback(ctx: AlertContext, state: MonitorState): Promise<boolean> {
  const { live, settings } = ctx
  if (!settings.autoRollback || live.trigger === 'rollback' || live.taskId === null) return false
  if (state.rolledBack === live.id) return true
  const deployedAt = Date.parse(live.finishedAt ?? live.createdAt)
  if (ctx.now - deployedAt > settings.autoRollbackMs) return false
  const [owner = '', name = ''] = live.repo.split('/')
  const payload: RollbackPayload = {
    installationId: ctx.installationId,
    repo: { owner, name, fullName: live.repo },
    taskId: live.taskId,
    environment: live.environment,
    actor: MONITOR_ACTOR,
    trigger: 'monitor',
  }
  await ctx.enqueue(
    { kind: 'rollback', key: rollbackJobKey(live.repo, live.taskId), payload },
    { delivery: monitorRollbackClaim(live.id) },
  )
  return true
}

async function emit(ctx: AlertContext, event: IncidentEvent): Promise<void> {
  if (ctx.onIncident === undefined) return
  try {
    await ctx.onIncident(event)
  } catch (err) {
    ctx.log.error({ err, event: event.kind }, 'The incident listener failed')
  }
}
