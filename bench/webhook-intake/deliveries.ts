/** Signed webhook deliveries as GitHub sends them, and a free loopback port to serve them on. */
import { createHmac, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Delivery } from './load.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))

/** A free loopback port (the OS picks one, then it is released for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** The official `issues.labeled` example with an installation and the `devsys` label. */
export async function basePayload(): Promise<Record<string, unknown>> {
  const file = path.join(
    HERE,
    '../../node_modules/@octokit/webhooks-examples/api.github.com/index.json',
  )
  const groups = JSON.parse(await readFile(file, 'utf8')) as {
    name: string
    examples: Record<string, unknown>[]
  }[]
  const example = groups
    .find((g) => g.name === 'issues')
    ?.examples.find((e) => e.action === 'labeled')
  if (!example) throw new Error('@octokit/webhooks-examples has no issues.labeled example')
  const label = { ...(example.label as object), name: 'devsys' }
  const issue = example.issue as Record<string, unknown>
  return {
    ...example,
    label,
    issue: { ...issue, labels: [label] },
    installation: { id: 1234, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMTIzNA==' },
  }
}

let issueCounter = 1_000

/**
 * `count` deliveries signed with `secret`, each for its own issue (DevSys coalesces queued jobs
 * per issue) and with a fresh X-GitHub-Delivery.
 */
export function makeDeliveries(
  base: Record<string, unknown>,
  count: number,
  secret: string,
): Delivery[] {
  return Array.from({ length: count }, () => {
    const id = randomUUID()
    const issue = { ...(base.issue as object), number: ++issueCounter }
    const body = JSON.stringify({ ...base, issue })
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
    return {
      id,
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/bench',
        'x-github-event': 'issues',
        'x-github-delivery': id,
        'x-github-hook-id': '1',
        'x-hub-signature-256': signature,
      },
    }
  })
}
