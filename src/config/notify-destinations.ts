import { createHash } from 'node:crypto'

/**
 * Where notifications go: the server's destinations, each with the secrets it needs. Only the
 * server configures them (NOTIFY_* variables); a repository subscribes to them by name.
 */
export type Destination =
  | { name: string; channel: 'webhook'; url: string; secret: string }
  | { name: string; channel: 'slack'; url: string }
  | { name: string; channel: 'email'; smtpUrl: string; from: string; to: string[] }

export type Channel = Destination['channel']

export type ParsedDestinations =
  | { ok: true; destinations: Destination[] }
  | { ok: false; errors: Array<[variable: string, message: string]> }

/**
 * The destinations NOTIFY_* variables configure, named `webhook`, `slack` and `email`. A
 * channel's variables are all set or all unset; the schema checked each value's form already.
 */
export function parseDestinations(get: (name: string) => string | undefined): ParsedDestinations {
  const errors: Array<[string, string]> = []
  const destinations: Destination[] = []
  const together = (names: string[], what: string): boolean => {
    const set = names.filter((name) => get(name) !== undefined)
    if (set.length === 0) return false
    if (set.length === names.length) return true
    const missing = names.filter((name) => !set.includes(name))
    errors.push([
      missing[0] as string,
      `is not set, but ${set.join(' and ')} ${set.length === 1 ? 'is' : 'are'}; ${what} needs ${names.join(', ')} together (or none of them)`,
    ])
    return false
  }
  if (together(['NOTIFY_WEBHOOK_URL', 'NOTIFY_WEBHOOK_SECRET'], 'the webhook destination')) {
    destinations.push({
      name: 'webhook',
      channel: 'webhook',
      url: get('NOTIFY_WEBHOOK_URL') as string,
      secret: get('NOTIFY_WEBHOOK_SECRET') as string,
    })
  }
  const slack = get('NOTIFY_SLACK_WEBHOOK_URL')
  if (slack !== undefined) destinations.push({ name: 'slack', channel: 'slack', url: slack })
  if (
    together(['NOTIFY_SMTP_URL', 'NOTIFY_EMAIL_FROM', 'NOTIFY_EMAIL_TO'], 'the email destination')
  ) {
    const to = (get('NOTIFY_EMAIL_TO') as string)
      .split(',')
      .map((address) => address.trim())
      .filter((address) => address !== '')
    if (to.length === 0)
      errors.push(['NOTIFY_EMAIL_TO', 'names no address; list recipients separated by commas'])
    destinations.push({
      name: 'email',
      channel: 'email',
      smtpUrl: get('NOTIFY_SMTP_URL') as string,
      from: get('NOTIFY_EMAIL_FROM') as string,
      to,
    })
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, destinations }
}

/**
 * A hash of a destination's settings: a destination its receiver disabled (HTTP 410) stays
 * disabled while these are the same, and is a new destination once the operator changes them.
 */
export function destinationFingerprint(destination: Destination): string {
  return createHash('sha256').update(JSON.stringify(destination)).digest('hex').slice(0, 32)
}

/** Where a destination points, for people: scheme and host only, never a path or token. */
export function describeDestination(destination: Destination): string {
  const url = destination.channel === 'email' ? destination.smtpUrl : destination.url
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}`
  } catch {
    return destination.channel
  }
}
