import type { MonitorFailure } from '../store/store.js'

/**
 * An incident's change of state, for whoever listens (the notifications port): emitted once the
 * issue is opened or closed and the state saved, so a restart does not repeat it; a process that
 * dies between the save and the call loses that one event.
 */
export type IncidentEvent =
  | {
      kind: 'incident.opened'
      repo: string
      /** The installation that sees the repository (its subscriptions are read through it). */
      installationId: number
      environment: string
      issueNumber: number
      issueUrl: string
      at: string
      failures: MonitorFailure[]
      /** The deployment that was live: the likely cause. */
      deployment: {
        id: number
        commitSha: string
        taskId: string | null
        pullRequest: number | null
      }
      /** The monitor queued a rollback of that deployment. */
      autoRollback: boolean
    }
  | {
      kind: 'incident.resolved'
      repo: string
      /** The installation that sees the repository (its subscriptions are read through it). */
      installationId: number
      environment: string
      issueNumber: number
      at: string
      downtimeMs: number
    }

/** Called on every incident change; its failures are logged, never fail the check. */
export type OnIncident = (event: IncidentEvent) => void | Promise<void>
