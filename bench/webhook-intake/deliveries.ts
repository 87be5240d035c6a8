/** Signed webhook deliveries as GitHub sends them, and a free loopback port to serve them on. */
import { createHmac, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Devsys } from '../../src/boot.js'
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

/** The official `issues.labeled` example of @octokit/webhooks-examples, as GitHub sends it. */
export async function labeledIssueExample(): Promise<Record<string, unknown>> {
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
  return example
}

/** The official `issues.labeled` example with an installation and the `devsys` label. */
export async function basePayload(): Promise<Record<string, unknown>> {
  const example = await labeledIssueExample()
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

/** What a DevSys store held after the run: exactly one job per delivery it acknowledged. */
export interface StoreCheck {
  deliveriesSent: number
  deliveriesRecorded: number
  jobs: number
  /** Jobs still queued (a receiver runs none). */
  jobsQueued: number
  missing: number
  duplicated: number
  exactlyOnePerDelivery: boolean
}

/** Every delivery DevSys acknowledged must be recorded, with exactly one job. */
export async function checkStore(devsys: Devsys, sent: string[]): Promise<StoreCheck> {
  const jobs = await devsys.queue.listJobs()
  const byDelivery = new Map<string, number>()
  for (const job of jobs) {
    if (job.deliveryId) byDelivery.set(job.deliveryId, (byDelivery.get(job.deliveryId) ?? 0) + 1)
  }
  const missing = sent.filter((id) => !byDelivery.has(id)).length
  const duplicated = [...byDelivery.values()].filter((count) => count > 1).length
  let deliveriesRecorded = 0
  for (const id of sent) if (await devsys.queue.hasDelivery(id)) deliveriesRecorded++
  return {
    deliveriesSent: sent.length,
    deliveriesRecorded,
    jobs: jobs.length,
    jobsQueued: jobs.filter((j) => j.state === 'queued').length,
    missing,
    duplicated,
    exactlyOnePerDelivery:
      missing === 0 &&
      duplicated === 0 &&
      jobs.length === sent.length &&
      deliveriesRecorded === sent.length,
  }
}
