import type { MonitorFailure, MonitorState, PendingAlert } from '../store/monitor-records.js'
import type { MonitorSettings } from './monitor-settings.js'

/** What one check of a live environment found. */
export interface Observation {
  deploymentId: number
  ok: boolean
  /** The failing checks (empty when ok). */
  failures: MonitorFailure[]
}

/**
 * The state after one check, and the alert it owes (also in `state.pending`). Pure, like the
 * threshold logic of Gatus and Uptime Kuma: `failureThreshold` failures in a row open an
 * incident, `successThreshold` passes in a row resolve it, and while either is pending the next
 * check comes after `retryIntervalMs`. `muted` (a maintenance window or issue) keeps the
 * counts going but owes no alert: an incident opens once the maintenance is over.
 */
export function nextMonitorState(
  prev: MonitorState,
  observation: Observation,
  now: number,
  settings: MonitorSettings,
  opts: { muted: boolean } = { muted: false },
): { state: MonitorState; alert: PendingAlert | null } {
  const at = new Date(now).toISOString()
  const base = { ...prev, deploymentId: observation.deploymentId, lastCheckedAt: at }
  const due = (ms: number) => new Date(now + ms).toISOString()
  const open = prev.incidentIssue !== null || prev.status === 'down' || prev.status === 'recovering'
  if (observation.ok) {
    const successes = prev.consecutiveSuccesses + 1
    const counts = { consecutiveFailures: 0, consecutiveSuccesses: successes }
    if (!open) {
      const state = { ...base, ...counts, status: 'up' as const, failingSince: null, failures: [] }
      return { state: { ...state, nextCheckAt: due(settings.intervalMs) }, alert: null }
    }
    if (successes < settings.successThreshold) {
      const state = { ...base, ...counts, status: 'recovering' as const }
      return { state: { ...state, nextCheckAt: due(settings.retryIntervalMs) }, alert: null }
    }
    const since = prev.failingSince === null ? now : Date.parse(prev.failingSince)
    const alert: PendingAlert = { kind: 'resolve', at, downtimeMs: Math.max(0, now - since) }
    // incidentIssue stays until the alert is sent: it names the issue to close.
    const state = {
      ...base,
      ...counts,
      status: 'up' as const,
      nextCheckAt: due(settings.intervalMs),
    }
    return { state: { ...state, pending: alert }, alert }
  }
  const failures = prev.consecutiveFailures + 1
  const counts = {
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
    failingSince: prev.failingSince ?? at,
  }
  if (!open) {
    const failing = {
      ...base,
      ...counts,
      status: 'failing' as const,
      failures: observation.failures,
    }
    if (failures < settings.failureThreshold || opts.muted) {
      return { state: { ...failing, nextCheckAt: due(settings.retryIntervalMs) }, alert: null }
    }
    const alert: PendingAlert = { kind: 'open', at }
    const state = {
      ...failing,
      status: 'down' as const,
      lastAlertAt: at,
      lastReminderAt: null,
      nextCheckAt: due(settings.intervalMs),
      pending: alert,
    }
    return { state, alert }
  }
  // An incident is open: the failing checks' change, or a reminder, is worth a comment.
  const down = {
    ...base,
    ...counts,
    status: 'down' as const,
    nextCheckAt: due(settings.intervalMs),
  }
  if (opts.muted) return { state: down, alert: null }
  if (signature(observation.failures) !== signature(prev.failures)) {
    const alert: PendingAlert = { kind: 'change', at }
    const state = { ...down, failures: observation.failures, lastAlertAt: at, pending: alert }
    return { state, alert }
  }
  const last = Date.parse(prev.lastReminderAt ?? prev.lastAlertAt ?? at)
  if (settings.reminderMs > 0 && now - last >= settings.reminderMs) {
    const alert: PendingAlert = { kind: 'remind', at }
    return { state: { ...down, lastReminderAt: at, pending: alert }, alert }
  }
  return { state: down, alert: null }
}

/** Which checks fail and how, ignoring wording that changes from one attempt to the next. */
function signature(failures: MonitorFailure[]): string {
  return failures
    .map((f) => `${f.id}:${f.status ?? 'none'}`)
    .sort()
    .join(',')
}
