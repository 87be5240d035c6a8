import { createHmac, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const USAGE = `usage: replay-webhook <event> <payload.json> [--url URL] [--delivery ID]

Sends a webhook payload to a running DevSys, signed with WEBHOOK_SECRET as GitHub signs it.
  --url       where DevSys receives webhooks (default http://localhost:3000/api/github/webhooks)
  --delivery  the X-GitHub-Delivery id (default: a fresh one; reuse one to test redelivery)`

/** Signs `body` the way GitHub does (X-Hub-Signature-256). */
function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' }, delivery: { type: 'string' }, help: { type: 'boolean' } },
  })
  const [event, file] = positionals
  if (values.help || !event || !file) {
    process.stderr.write(`${USAGE}\n`)
    return values.help ? 0 : 2
  }
  const secret = process.env.WEBHOOK_SECRET
  if (!secret) {
    process.stderr.write(
      'WEBHOOK_SECRET is not set: use the secret the running DevSys was started with\n',
    )
    return 2
  }
  const body = readFileSync(file, 'utf8')
  const delivery = values.delivery ?? randomUUID()
  const response = await fetch(values.url ?? 'http://localhost:3000/api/github/webhooks', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': signBody(secret, body),
    },
    body,
  })
  process.stdout.write(
    `delivery ${delivery}: ${response.status} ${(await response.text()).trim()}\n`,
  )
  return response.ok ? 0 : 1
}

process.exitCode = await main()
