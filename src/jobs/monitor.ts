import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig } from '../config/fetch-repo-config.js'
import type { TargetFactory } from '../deploy/create-target.js'
import type { AcceptanceTuning } from '../deploy/steps/verify.js'
import type { OnIncident } from '../monitor/incident-event.js'
import { inMaintenanceWindow, monitorSettings } from '../monitor/monitor-settings.js'
import { nextMonitorState } from '../monitor/next-monitor-state.js'
import { listLiveEnvironments, observeEnvironment } from '../monitor/observe-environment.js'
import { sendAlert } from '../monitor/send-alert.js'
import type { Schedule } from '../queue/queue.js'
import type { JobContext, JobHandler, Outcome } from '../queue/types.js'
import { underMaintenance } from '../report/incident-issue.js'
import { initialMonitorState } from '../store/monitor-records.js'
import type {
  AuditStore,
  Deployment,
  DeploymentStore,
  LockStore,
  MonitorState,
  MonitorStore,
  TaskStore,
} from '../store/store.js'
import {
  MONITOR_SWEEP_KEY,
  type MonitorPayload,
  monitorCheckKey,
} from '../triggers/job-payloads.js'

export const MONITOR = 'monitor'

/** How often the sweep looks for due environments; each one's own interval is its repo config's. */
export const MONITOR_TICK_MS = 5_000

/** When the repo config cannot be read, it is read again after the default interval. */
const DEFAULT_INTERVAL_MS = 60_000

export interface MonitorDeps {
  store: DeploymentStore & TaskStore & MonitorStore & LockStore & AuditStore
  auth: GitHubAuth
  targets: TargetFactory
  enqueue: Enqueue
  maxManifestBytes: number
  acceptance?: AcceptanceTuning
  /** Told of every incident opened or resolved (the notifications port). */
  onIncident?: OnIncident
  /** Told of every check that counted (/metrics). */
  onChecked?: (repo: string, environment: string, ok: boolean) => void
  now?: () => number
  tickMs?: number
}

/** The repeating sweep, as src/boot.ts registers it. */
export function monitorSchedule(tickMs = MONITOR_TICK_MS): Schedule {
  const payload: MonitorPayload = { sweep: true }
  return { name: MONITOR, everyMs: tickMs, job: { kind: MONITOR, key: MONITOR_SWEEP_KEY, payload } }
}

/**
 * The `monitor` job. A sweep (every tick, once across processes) enqueues a check of each live
 * environment whose next check is due, with the delivery id of the tick, so it is queued once;
 * checks of one environment share a key, so they never run at once; the state's due time,
 * saved by revision, makes one check per interval however many workers run.
 */
export function createMonitorJob(deps: MonitorDeps): JobHandler<MonitorPayload> {
  const now = deps.now ?? Date.now
  return {
    kind: MONITOR,
    run: (payload, ctx) =>
      'sweep' in payload ? sweep(deps, now(), ctx) : check(deps, payload.check, now(), ctx),
  }
}

async function sweep(deps: MonitorDeps, now: number, ctx: JobContext): Promise<Outcome> {
  // Environments with a live deploy, and every one checked before.
  const states = new Map(
    (await deps.store.listMonitorStates()).map((s) => [`${s.repo}:${s.environment}`, s]),
  )
  const live = new Map<string, { repo: string; environment: string }>(
    (await listLiveEnvironments(deps.store)).map((e) => [`${e.repo}:${e.environment}`, e]),
  )
  for (const [key, s] of states) if (!live.has(key)) live.set(key, s)
  const slot = Math.floor(now / (deps.tickMs ?? MONITOR_TICK_MS))
  const due: string[] = []
  for (const [name, d] of live) {
    const state = states.get(name)
    if (state !== undefined && state.pending === null && !isDue(state, now)) continue
    const key = monitorCheckKey(d.repo, d.environment)
    const payload: MonitorPayload = { check: { repo: d.repo, environment: d.environment } }
    await deps.enqueue(
      { kind: MONITOR, key, payload },
      { delivery: { id: `${key}:${slot}`, event: 'monitor' } },
    )
    due.push(name)
  }
  if (due.length > 0) ctx.log.debug({ due }, 'Monitor checks queued')
  return { status: 'done', summary: `${due.length} of ${live.size} live environments due` }
}

function isDue(state: MonitorState, now: number): boolean {
  return state.nextCheckAt === null || Date.parse(state.nextCheckAt) <= now
}

async function check(
  deps: MonitorDeps,
  which: { repo: string; environment: string },
  now: number,
  ctx: JobContext,
): Promise<Outcome> {
  const log = ctx.log.child({ repo: which.repo, environment: which.environment })
  const skip = (reason: string, summary: string): Outcome => ({
    status: 'skipped',
    reason,
    summary,
  })
  // 1. What is live, and the state the last check left (with any alert it still owes).
  const live = await liveDeployment(deps, which.repo, which.environment)
  if (live === undefined) return skip('not-live', `nothing is live in ${which.environment}`)
  let state =
    (await deps.store.getMonitorState(which.repo, which.environment)) ??
    initialMonitorState(which.repo, which.environment)
  if (state.pending === null && !isDue(state, now)) return skip('not-due', 'checked this interval')
  // Muted while a deploy changes the environment (asked again by the next sweep).
  const lock = `${live.repo}:${live.environment}`
  if ((await deps.store.getDeployLock(lock)) !== undefined) {
    return skip('deploying', `a deploy of ${live.environment} is running`)
  }
  // Not checked now: asked again after `ms`, not at every sweep.
  const postpone = async (ms: number, reason: string, summary: string) => {
    await deps.store.saveMonitorState({ ...state, nextCheckAt: new Date(now + ms).toISOString() })
    return skip(reason, summary)
  }
  const task =
    live.taskId === null
      ? undefined
      : await deps.store.getTask({ repo: live.repo, id: live.taskId })
  const installationId = task?.source.installationId ?? (await findInstallation(deps, live.repo))
  const github = await deps.auth(installationId)
  const [owner = '', repo = ''] = live.repo.split('/')
  const loaded = await fetchRepoConfig(github, { owner, repo })
  if (!loaded.ok) {
    return postpone(DEFAULT_INTERVAL_MS, 'invalid-repo-config', 'the repo config is invalid')
  }
  const settings = monitorSettings(loaded.config, live.environment)
  const alerts = {
    github,
    store: deps.store,
    enqueue: deps.enqueue,
    installationId,
    live,
    pullRequest: task?.code?.pullRequest?.number ?? null,
    url: live.url,
    settings,
    now,
    onIncident: auditedIncident(deps),
    log,
  }
  // 2. Finish what the last check decided (a restart mid-alert).
  if (state.pending !== null) {
    const sent = await sendAlert(alerts, state)
    if (sent === undefined) return skip('raced', 'another check saved first')
    state = sent
    if (!isDue(state, now)) return { status: 'done', summary: 'sent the pending alert' }
  }
  if (!settings.enabled) {
    return postpone(settings.intervalMs, 'disabled', 'monitor.enabled is false')
  }
  // 4. Check the live site with its task's own acceptance checks.
  const outcome = await observeEnvironment(deps, {
    config: loaded.config,
    live,
    task,
    signal: ctx.signal,
    log,
  })
  if (outcome.kind === 'skipped') {
    return postpone(settings.intervalMs, outcome.reason, outcome.detail)
  }
  // A deploy that started or finished meanwhile makes the result meaningless.
  if (
    (await deps.store.getDeployLock(lock)) !== undefined ||
    (await stillLive(deps, live)) === false
  ) {
    return skip('deploying', `a deploy of ${live.environment} ran during the check`)
  }
  // 5. Decide (muted by a maintenance window or issue), save with the alert owed, send it.
  const observation = outcome.observation
  let decided = nextMonitorState(state, observation, now, settings)
  if (decided.alert !== null && decided.alert.kind !== 'resolve') {
    if (await muted(github, { owner, repo }, settings, now)) {
      log.info({ alert: decided.alert.kind }, 'Alert muted by maintenance')
      decided = nextMonitorState(state, observation, now, settings, { muted: true })
    }
  }
  const saved = await deps.store.saveMonitorState(decided.state)
  if (saved === undefined) return skip('raced', 'another check saved first')
  deps.onChecked?.(live.repo, live.environment, observation.ok)
  const after = (await sendAlert({ ...alerts, url: outcome.url }, saved)) ?? saved
  const summary = `${live.environment} ${observation.ok ? 'passed' : 'failed'} (${after.status})`
  return {
    status: 'done',
    summary,
    details: {
      status: after.status,
      alert: decided.alert?.kind ?? null,
      issue: after.incidentIssue,
    },
  }
}

async function muted(
  github: GitHubClient,
  where: { owner: string; repo: string },
  settings: ReturnType<typeof monitorSettings>,
  now: number,
): Promise<boolean> {
  return inMaintenanceWindow(settings, now) || (await underMaintenance(github, where))
}

async function stillLive(deps: MonitorDeps, live: Deployment): Promise<boolean> {
  return (await liveDeployment(deps, live.repo, live.environment))?.id === live.id
}

/** The deployment live in an environment: the newest that succeeded there. */
async function liveDeployment(
  deps: MonitorDeps,
  repo: string,
  environment: string,
): Promise<Deployment | undefined> {
  const [live] = await deps.store.listDeployments({ repo, environment, state: 'success', limit: 1 })
  return live
}

/** The installation of a repository whose task did not record one (the app's own token). */
async function findInstallation(deps: MonitorDeps, fullName: string): Promise<number> {
  const app = await deps.auth()
  const [owner = '', repo = ''] = fullName.split('/')
  const { data } = await app.rest.apps.getRepoInstallation({ owner, repo })
  return data.id
}

/**
 * Incidents opened and resolved are state changes the monitor made: each is written to the
 * audit log (actor devsys-monitor, via monitor), then told to the listener (notifications).
 */
function auditedIncident(deps: MonitorDeps): OnIncident {
  return async (event) => {
    const opened = event.kind === 'incident.opened'
    try {
      await deps.store.audit({
        actor: 'devsys-monitor',
        via: 'monitor',
        action: event.kind,
        subject: `incident:${event.repo}:${event.environment}`,
        target: {
          repo: event.repo,
          environment: event.environment,
          ...(opened ? { release: null, task: event.deployment.taskId } : {}),
        },
        before: { incidentIssue: opened ? null : event.issueNumber },
        after: { incidentIssue: opened ? event.issueNumber : null },
        result: 'ok',
        details: opened
          ? {
              issue: event.issueNumber,
              deployment: event.deployment.id,
              failing: event.failures.map((f) => f.id),
            }
          : { issue: event.issueNumber, downtimeMs: event.downtimeMs },
      })
    } finally {
      // The listener is told even when the audit log could not be written.
      await deps.onIncident?.(event)
    }
  }
}
