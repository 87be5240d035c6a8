/**
 * /metrics as Prometheus scrapes it: DevSys started from its environment, signed webhooks in,
 * the text format read back over HTTP, with and without the manager API token.
 */
import nock from 'nock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Devsys } from '../../src/boot.js'
import { sendSignedWebhook, useDevsys } from '../helpers/boot-devsys.js'
import { until } from '../helpers/holding-github.js'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'

const SECRET = 'metrics-webhook-secret'
const TOKEN = 'metrics-api-token-0123456789'
const devsys = useDevsys(SECRET, 'devsys-metrics-')

/** DevSys with the API token, no redelivery scan, and `env`. */
function start(env: Record<string, string> = {}): Promise<Devsys> {
  return devsys.start({ MANAGER_API_TOKEN: TOKEN, REDELIVERY_INTERVAL_SECONDS: '0', ...env })
}

function sendWebhook(port: number, event: string, payload: object) {
  return sendSignedWebhook(port, SECRET, event, payload)
}

function scrape(port: number, headers: Record<string, string> = {}) {
  return httpRequest(`http://127.0.0.1:${port}/metrics`, { headers })
}

/** The samples of the text exposition: `name{labels}` → value (comments left out). */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    found.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return found
}

beforeEach(() => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
})

afterEach(async () => {
  nock.cleanAll()
  nock.enableNetConnect()
})

describe('/metrics on a receiver', () => {
  it('answers only callers with the manager API token', async () => {
    const { port } = await start({ DEVSYS_ROLE: 'receiver' })
    const anonymous = await scrape(port)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="devsys"')
    expect(anonymous.text).not.toContain('devsys_')
    const wrong = await scrape(port, { authorization: 'Bearer not-the-token' })
    expect(wrong.status).toBe(401)
    const posted = await httpRequest(`http://127.0.0.1:${port}/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(posted.status).toBe(405)
  })

  it('times webhook answers by event and status, and counts what waits in the queue', async () => {
    const { port } = await start({ DEVSYS_ROLE: 'receiver' })
    expect((await sendWebhook(port, 'issues', examplePayload('issues', 'labeled'))).status).toBe(
      200,
    )
    // An event DevSys does not subscribe to is one label, whatever the caller names it.
    const odd = await sendWebhook(port, 'made-up-event-name', { zen: 'x' })
    expect(odd.status).toBeLessThan(500)
    const unsigned = await httpRequest(`http://127.0.0.1:${port}/api/github/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'issues' },
      body: '{}',
    })
    expect(unsigned.status).toBeGreaterThanOrEqual(400)

    const answer = await scrape(port, { authorization: `Bearer ${TOKEN}` })
    expect(answer.status).toBe(200)
    expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const m = samples(answer.text)
    expect(m.get('devsys_webhook_ack_seconds_count{event="issues",status="200"}')).toBe(1)
    expect(m.get(`devsys_webhook_ack_seconds_count{event="other",status="${odd.status}"}`)).toBe(1)
    expect(
      m.get(`devsys_webhook_ack_seconds_count{event="issues",status="${unsigned.status}"}`),
    ).toBe(1)
    expect(answer.text).not.toContain('made-up-event-name')
    expect(m.get('devsys_webhook_ack_seconds_sum{event="issues",status="200"}')).toBeGreaterThan(0)
    // The receiver runs no jobs: the intake waits, and its age is counted from when it was due.
    expect(m.get('devsys_queue_jobs{kind="intake-issue",state="queued"}')).toBe(1)
    expect(m.get('devsys_queue_oldest_age_seconds{kind="intake-issue"}')).toBeGreaterThanOrEqual(0)
  })

  it('counts deploys and rollbacks per environment from the shared deploy history', async () => {
    const { port, store } = await start({ DEVSYS_ROLE: 'receiver' })
    const deploy = {
      repo: 'octo/blog',
      environment: 'production',
      taskId: 'blog',
      trigger: 'merge',
      actor: 'mona',
      commitSha: 'a'.repeat(40),
      ref: 'main',
    } as const
    const first = await store.createDeployment({ ...deploy, state: 'rolled_back' })
    await store.createDeployment({ ...deploy, state: 'success' })
    await store.createDeployment({ ...deploy, trigger: 'rollback', rollbackOf: first.id })
    const m = samples((await scrape(port, { 'x-api-token': TOKEN })).text)
    const labels = 'repo="octo/blog",environment="production"'
    expect(m.get(`devsys_deployments{${labels},kind="deploy",state="rolled_back"}`)).toBe(1)
    expect(m.get(`devsys_deployments{${labels},kind="deploy",state="success"}`)).toBe(1)
    expect(m.get(`devsys_deployments{${labels},kind="rollback",state="in_progress"}`)).toBe(1)
  })
})

describe('/metrics on a worker', () => {
  it('counts its job attempts by kind and result, behind the token', async () => {
    const { port, queue } = await start({ DEVSYS_ROLE: 'worker', DEVSYS_QUEUES: 'deploy' })
    expect((await scrape(port)).status).toBe(401)
    // A revert needs GitHub, which is unreachable here: the attempt throws and is retried.
    const repo = {
      owner: 'octo',
      name: 'blog',
      fullName: 'octo/blog',
      cloneUrl: 'https://github.com/octo/blog.git',
      htmlUrl: 'https://github.com/octo/blog',
      defaultBranch: 'main',
    }
    const { job } = (await queue.enqueue({
      kind: 'revert',
      key: 'revert:metrics',
      maxAttempts: 1,
      payload: {
        installationId: 1234,
        repo,
        sha: 'b'.repeat(40),
        deployment: 1,
        environment: 'production',
        reason: 'test',
        actor: 'mona',
      },
    })) as { job: { id: string } }
    await until('the revert fails', async () => (await queue.getJob(job.id))?.state === 'failed')
    const m = samples((await scrape(port, { authorization: `Bearer ${TOKEN}` })).text)
    expect(m.get('devsys_job_failures_total{kind="revert"}')).toBe(1)
    expect(m.get('devsys_job_duration_seconds_count{kind="revert",result="error"}')).toBe(1)
    expect(m.get('devsys_queue_jobs{kind="revert",state="running"}')).toBeUndefined()
  })
})
