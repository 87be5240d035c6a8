import type { NotificationSubscription } from '../config/load-repo-config.js'
import type { NotificationEvent } from './events.js'

/**
 * The destinations a repository's subscriptions send `event` to, each once, in the order first
 * named. An `environments` filter applies to events that have an environment only.
 */
export function routeEvent(
  event: Pick<NotificationEvent, 'type' | 'environment'>,
  subscriptions: readonly NotificationSubscription[],
): string[] {
  const names: string[] = []
  for (const subscription of subscriptions) {
    if (!(subscription.events as readonly string[]).includes(event.type)) continue
    const { environments } = subscription
    if (environments !== undefined && event.environment !== null) {
      if (!environments.includes(event.environment)) continue
    }
    for (const name of subscription.destinations) if (!names.includes(name)) names.push(name)
  }
  return names
}
