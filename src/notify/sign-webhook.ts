import { createHmac } from 'node:crypto'

/**
 * The Standard Webhooks headers of one message: `webhook-signature` is `v1,` and the base64
 * HMAC-SHA256 of `<id>.<timestamp>.<body>` under the secret's bytes (the base64 after `whsec_`).
 * `timestamp` is in seconds since the epoch.
 */
export function signWebhook(
  secret: string,
  message: { id: string; timestamp: number; body: string },
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const signed = `${message.id}.${message.timestamp}.${message.body}`
  const signature = createHmac('sha256', key).update(signed).digest('base64')
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
    'webhook-signature': `v1,${signature}`,
  }
}
