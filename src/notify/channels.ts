import { createHash } from 'node:crypto'
import type { Destination } from '../config/notify-destinations.js'
import type { NotificationEvent } from './events.js'
import { formatEmail, formatSlackMessage, formatWebhookBody } from './format-message.js'
import { createPacer } from './pace.js'
import { type DestinationReach, type PostResult, postGuarded } from './post-guarded.js'
import { createEmailSender } from './send-email.js'
import { signWebhook } from './sign-webhook.js'

/** How one attempt to send an event to a destination ended. */
export type SendResult =
  | { kind: 'delivered' }
  /** Try again later (5xx, 429, timeout, connection refused). */
  | { kind: 'retry'; error: string }
  /** Trying again cannot help (refused address, a 4xx, SMTP 5xx). */
  | { kind: 'failed'; error: string }
  /** The receiver says the endpoint is gone for good (HTTP 410): disable the destination. */
  | { kind: 'gone'; error: string }

/** The three channels, sharing their state: Slack's pace, email's connection pools. */
export interface Channels {
  send(
    destination: Destination,
    event: NotificationEvent,
    signal?: AbortSignal,
  ): Promise<SendResult>
  close(): void
}

export interface ChannelOptions {
  reach: DestinationReach
  /** One request or SMTP step (default 10 s). */
  timeoutMs?: number
  /** Least time between two Slack messages to one destination (default 1000 ms). */
  slackIntervalMs?: number
  /** Seconds since the epoch for `webhook-timestamp` (tests pin it). */
  nowSeconds?: () => number
}

/**
 * The Standard Webhooks message id of an event: the same for every attempt, so a receiver
 * that saw it already can drop a repeat.
 */
export function webhookMessageId(event: Pick<NotificationEvent, 'id'>): string {
  return `msg_${createHash('sha256').update(event.id).digest('base64url').slice(0, 27)}`
}

/** Builds the webhook, Slack and email channels. */
export function createChannels(opts: ChannelOptions): Channels {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const pacer = createPacer(opts.slackIntervalMs ?? 1000)
  const email = createEmailSender(opts.reach, { timeoutMs })
  const nowSeconds = opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000))

  return {
    async send(destination, event, signal) {
      switch (destination.channel) {
        case 'webhook': {
          const body = formatWebhookBody(event)
          const headers = signWebhook(destination.secret, {
            id: webhookMessageId(event),
            timestamp: nowSeconds(),
            body,
          })
          const answer = await postGuarded(
            destination.url,
            {
              headers: { 'content-type': 'application/json', 'user-agent': 'DevSys', ...headers },
              body,
              timeoutMs,
              ...(signal ? { signal } : {}),
            },
            opts.reach,
          )
          return webhookResult(answer)
        }
        case 'slack': {
          const body = JSON.stringify(formatSlackMessage(event))
          const send = () =>
            postGuarded(
              destination.url,
              {
                headers: { 'content-type': 'application/json; charset=utf-8' },
                body,
                timeoutMs,
                ...(signal ? { signal } : {}),
              },
              opts.reach,
            )
          // A 429 asks for a pause: the next message waits its Retry-After.
          const answer = await pacer.run(destination.name, send, (a) =>
            a.kind === 'answered' && a.status === 429 ? (a.retryAfterMs ?? 1000) : 0,
          )
          return slackResult(answer)
        }
        case 'email': {
          const { subject, text } = formatEmail(event)
          const sent = await email.send(destination.smtpUrl, {
            from: destination.from,
            to: destination.to,
            subject,
            text,
            messageId: `<${webhookMessageId(event)}@devsys>`,
          })
          if (sent.kind === 'sent') return { kind: 'delivered' }
          if (sent.kind === 'refused') return refusedResult(sent)
          return sent.permanent
            ? { kind: 'failed', error: sent.reason }
            : { kind: 'retry', error: sent.reason }
        }
      }
    },
    close() {
      email.close()
    },
  }
}

/** Webhooks: any 2xx delivers, 410 disables, anything else is tried again. */
function webhookResult(answer: PostResult): SendResult {
  if (answer.kind === 'refused') return refusedResult(answer)
  if (answer.kind === 'error') return { kind: 'retry', error: answer.reason }
  if (answer.status >= 200 && answer.status < 300) return { kind: 'delivered' }
  if (answer.status === 410) return { kind: 'gone', error: 'the receiver answered 410 Gone' }
  return { kind: 'retry', error: `the receiver answered ${answer.status}` }
}

/** Slack: 200 delivers; 429 and 5xx are tried again; 410 (archived channel) disables; other 4xx fail. */
function slackResult(answer: PostResult): SendResult {
  if (answer.kind === 'refused') return refusedResult(answer)
  if (answer.kind === 'error') return { kind: 'retry', error: answer.reason }
  if (answer.status >= 200 && answer.status < 300) return { kind: 'delivered' }
  // Slack's body is a short reason code (no_service, invalid_blocks, channel_is_archived).
  const reason = `Slack answered ${answer.status} ${answer.text
    .replace(/[^\w.-]+/g, ' ')
    .trim()
    .slice(0, 60)}`.trim()
  if (answer.status === 410) return { kind: 'gone', error: reason }
  if (answer.status === 429 || answer.status >= 500) return { kind: 'retry', error: reason }
  return { kind: 'failed', error: reason }
}

function refusedResult(refusal: { reason: string; transient: boolean }): SendResult {
  return refusal.transient
    ? { kind: 'retry', error: refusal.reason }
    : { kind: 'failed', error: refusal.reason }
}
