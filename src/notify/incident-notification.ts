import type { IncidentEvent, OnIncident } from '../monitor/incident-event.js'
import { formatDuration } from '../report/format-incident.js'
import { incidentEvent, type NotificationEvent, type Notify, publish } from './events.js'

/** The notification of an incident opened or resolved by the monitor (one per issue and change). */
export function incidentNotification(event: IncidentEvent): NotificationEvent {
  const subject = {
    repo: event.repo,
    installationId: event.installationId,
    environment: event.environment,
  }
  if (event.kind === 'incident.resolved') {
    return incidentEvent('incident.resolved', subject, event.issueNumber, {
      title: `${event.environment} of ${event.repo} is up again`,
      details: {
        issue: event.issueNumber,
        downtime: formatDuration(event.downtimeMs),
        resolvedAt: event.at,
      },
    })
  }
  const failing = event.failures.map((failure) => failure.id).join(', ')
  return incidentEvent('incident.opened', subject, event.issueNumber, {
    title: `${event.environment} of ${event.repo} is down: ${failing || 'checks failing'}`,
    url: event.issueUrl,
    details: {
      issue: event.issueNumber,
      commit: event.deployment.commitSha.slice(0, 12),
      pullRequest: event.deployment.pullRequest,
      task: event.deployment.taskId,
      autoRollback: event.autoRollback,
      since: event.at,
    },
  })
}

/**
 * The monitor's incident listener: tells `listener` (if any), then publishes the incident's
 * notification through `notify` (when the server has destinations).
 */
export function tellIncident(
  listener: OnIncident | undefined,
  notify: Notify | undefined,
): OnIncident {
  return async (event) => {
    await listener?.(event)
    await publish(notify, incidentNotification(event))
  }
}
