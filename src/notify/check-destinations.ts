import type { NotifyEnv } from '../config/load-env.js'
import type { Destination } from '../config/notify-destinations.js'
import { guardUrl, type ResolveHost } from '../verify/guard-url.js'
import { NOTIFY_ALLOWED_WHERE } from './post-guarded.js'

/** The variable that sets a destination's address, for messages. */
const VARIABLE: Record<Destination['channel'], string> = {
  webhook: 'NOTIFY_WEBHOOK_URL',
  slack: 'NOTIFY_SLACK_WEBHOOK_URL',
  email: 'NOTIFY_SMTP_URL',
}

/**
 * Checks every destination's address with the SSRF guard at start (each send checks again):
 * `errors` for addresses the guard refuses (DevSys does not start), `warnings` for hosts that do
 * not resolve now (they may later). Messages name the variable and host, never a path or token.
 */
export async function checkDestinations(
  notify: NotifyEnv,
  resolve?: ResolveHost,
): Promise<{ errors: string[]; warnings: string[] }> {
  const errors: string[] = []
  const warnings: string[] = []
  for (const destination of notify.destinations) {
    const address = destination.channel === 'email' ? destination.smtpUrl : destination.url
    const host = new URL(address).host
    const guard = await guardUrl(new URL(`http://${host}`), {
      trustedOrigins: [],
      allowed: notify.allowedHosts,
      allowedWhere: NOTIFY_ALLOWED_WHERE,
      ...(resolve ? { resolve } : {}),
    })
    if (guard.ok) continue
    const message = `${VARIABLE[destination.channel]}: ${guard.reason}`
    if (guard.transient)
      warnings.push(`${message}; the ${destination.name} destination is tried at each send`)
    else errors.push(message)
  }
  return { errors, warnings }
}
