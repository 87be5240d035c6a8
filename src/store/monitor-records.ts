/** What the monitor keeps per repository and environment, so a restart repeats no alert. */

/**
 * up: healthy; failing: failures below the threshold (no incident yet); down: an incident is
 * open; recovering: passes below the success threshold while an incident is open.
 */
export type MonitorStatus = 'up' | 'failing' | 'down' | 'recovering'

/** One failing check as the incident shows it (its answer trimmed, never a secret). */
export interface MonitorFailure {
  id: string
  /** `METHOD path`. */
  request?: string
  status: number | null
  expected: number
  problems: string[]
  /** The start of the answer's body. */
  excerpt?: string
}

/**
 * An alert the state owes, saved with the state that decided it and cleared once sent: a
 * restart sends what a crash left unsent, and never an alert twice for one decision.
 */
export type PendingAlert =
  | { kind: 'open'; at: string }
  | { kind: 'change'; at: string }
  | { kind: 'remind'; at: string }
  | { kind: 'resolve'; at: string; downtimeMs: number }

export interface MonitorState {
  /** 'owner/name'. */
  repo: string
  environment: string
  status: MonitorStatus
  consecutiveFailures: number
  consecutiveSuccesses: number
  /** The live deployment the last check ran against. */
  deploymentId: number | null
  /** The open incident issue; null when none is open. */
  incidentIssue: number | null
  /** When the first failing check of the current failure streak ran. */
  failingSince: string | null
  /** The failing checks the incident last reported (a change gets a comment). */
  failures: MonitorFailure[]
  /** When the incident was last announced (opened, or a change commented). */
  lastAlertAt: string | null
  /** When the last reminder was commented. */
  lastReminderAt: string | null
  /** The deployment the monitor queued a rollback of (at most once per deployment). */
  rolledBack: number | null
  lastCheckedAt: string | null
  /** The alert decided but not yet sent (see PendingAlert). */
  pending: PendingAlert | null
  /** The next check is due then; null: at once. */
  nextCheckAt: string | null
  /** Bumped by every save: a save based on an older read writes nothing. */
  revision: number
}

/** A state before its first save. */
export function initialMonitorState(repo: string, environment: string): MonitorState {
  return {
    repo,
    environment,
    status: 'up',
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    deploymentId: null,
    incidentIssue: null,
    failingSince: null,
    failures: [],
    lastAlertAt: null,
    lastReminderAt: null,
    rolledBack: null,
    lastCheckedAt: null,
    pending: null,
    nextCheckAt: null,
    revision: 0,
  }
}
