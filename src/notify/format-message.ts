import type { NotificationEvent } from './events.js'

/** How each event looks at a glance. */
const ICONS: Record<NotificationEvent['type'], string> = {
  'task.accepted': ':inbox_tray:',
  'task.rejected': ':no_entry_sign:',
  'pr.opened': ':twisted_rightwards_arrows:',
  'tests.passed': ':white_check_mark:',
  'tests.failed': ':x:',
  'deploy.succeeded': ':rocket:',
  'deploy.failed': ':boom:',
  rollback: ':rewind:',
  'incident.opened': ':rotating_light:',
  'incident.resolved': ':large_green_circle:',
  test: ':wave:',
}

/**
 * The webhook body: Standard Webhooks' recommended envelope `{ type, timestamp, data }`, where
 * `data` is the event itself.
 */
export function formatWebhookBody(event: NotificationEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.occurredAt,
    data: {
      id: event.id,
      repo: event.repo,
      environment: event.environment,
      task: event.task,
      title: event.title,
      url: event.url,
      details: event.details,
    },
  })
}

/** The facts every channel lists under the title: repository, environment, task, details. */
function facts(event: NotificationEvent): Array<[string, string]> {
  const list: Array<[string, string]> = []
  if (event.repo !== null) list.push(['Repository', event.repo])
  if (event.environment !== null) list.push(['Environment', event.environment])
  if (event.task !== null) list.push(['Task', event.task])
  for (const [name, value] of Object.entries(event.details)) {
    if (value !== null) list.push([name, String(value)])
  }
  return list
}

/** Text Slack shows as typed: `&`, `<` and `>` are its only control characters. */
function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** A Slack incoming-webhook message: Block Kit blocks, and `text` for notifications and old clients. */
export function formatSlackMessage(event: NotificationEvent): {
  text: string
  blocks: Array<Record<string, unknown>>
} {
  const title = `${ICONS[event.type]} ${event.title}`
  const shown = facts(event).slice(0, 10)
  const blocks: Array<Record<string, unknown>> = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(title)}*` } },
  ]
  if (shown.length > 0) {
    blocks.push({
      type: 'section',
      fields: shown.map(([name, value]) => ({
        type: 'mrkdwn',
        text: `*${slackEscape(name)}*\n${slackEscape(value).slice(0, 1900)}`,
      })),
    })
  }
  if (event.url !== null) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open' },
          url: event.url.slice(0, 3000),
        },
      ],
    })
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `DevSys · ${event.type} · ${event.occurredAt}` }],
  })
  const link = event.url === null ? '' : ` ${event.url}`
  return { text: slackEscape(`${event.title}${link}`), blocks }
}

/** An email: the title as subject, the facts and link as plain text. */
export function formatEmail(event: NotificationEvent): { subject: string; text: string } {
  const where = event.repo === null ? '' : ` ${event.repo}:`
  const lines = [
    event.title,
    '',
    ...facts(event).map(([name, value]) => `${name}: ${value}`),
    ...(event.url === null ? [] : ['', event.url]),
    '',
    `-- DevSys (${event.type}, ${event.occurredAt}, event ${event.id})`,
  ]
  return {
    subject: `[DevSys]${where} ${event.title}`.replaceAll(/[\r\n]+/g, ' '),
    text: `${lines.join('\n')}\n`,
  }
}
