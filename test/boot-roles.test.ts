/**
 * Roles (DEVSYS_ROLE, DEVSYS_QUEUES): one image as receivers and worker pools sharing the queue
 * state in DATA_DIR; and the graceful stop each role makes.
 */
import { createHmac } from 'node:crypto'
import { connect } from 'node:net'
import nock from 'nock'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, type Devsys, jobHandlers } from '../src/boot.js'
import { QUEUE_KINDS, QUEUE_NAMES } from '../src/config/roles.js'
import { createLogger } from '../src/logger.js'
import type { NewJob } from '../src/queue/queue.js'
import { openSqliteJobStore } from '../src/queue/sqlite-job-store.js'
import { sendSignedWebhook, useDevsys } from './helpers/boot-devsys.js'
import { holdingGitHub, until } from './helpers/holding-github.js'
import { httpRequest } from './helpers/http.js'
import { examplePayload } from './helpers/payloads.js'
import { jobOf } from './store/support.js'

const SECRET = 'boot-roles-secret'

function newDataDir(): string {
  return booted.newDataDir()
}

function start(
  env: Record<string, string>,
  opts: { dataDir?: string; lines?: string[] } = {},
): Promise<Devsys> {
  const lines = opts.lines
  const log = lines && createLogger('info', { write: (line: string) => lines.push(line) })
  return booted.start(
    { ...(opts.dataDir === undefined ? {} : { DATA_DIR: opts.dataDir }), ...env },
    log ? { log } : {},
  )
}

function sendWebhook(port: number, event: string, payload: object) {
  return sendSignedWebhook(port, SECRET, event, payload)
}

const REPO = {
  owner: 'Codertocat',
  name: 'Hello-World',
  fullName: 'Codertocat/Hello-World',
  cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
  htmlUrl: 'https://github.com/Codertocat/Hello-World',
  defaultBranch: 'main',
}
const testsJob: NewJob = {
  kind: 'run-tests',
  key: 'task:Codertocat/Hello-World:blog',
  payload: {
    installationId: 1234,
    taskId: 'blog',
    repo: REPO,
    headSha: 'a'.repeat(40),
    reason: 'pushed',
  },
}
const generateJob: NewJob = {
  kind: 'generate',
  key: 'task:Codertocat/Hello-World:shop',
  payload: { installationId: 1234, taskId: 'shop', repo: REPO, reason: 'intake', requester: 'x' },
}
const revertJob = (repo = REPO): NewJob => ({
  kind: 'revert',
  key: 'revert:roles',
  payload: {
    installationId: 1234,
    repo,
    sha: 'b'.repeat(40),
    deployment: 1,
    environment: 'production',
    reason: 'test',
    actor: 'Codertocat',
  },
})

afterEach(async () => {
  nock.cleanAll()
  nock.enableNetConnect()
})
// Registered after the hook above, so that every DevSys is stopped before it runs.
const booted = useDevsys(SECRET, 'devsys-roles-')

describe('DEVSYS_ROLE=receiver', () => {
  it('stores a signed webhook’s job and runs nothing', async () => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
    const { port, queue, config } = await start({ DEVSYS_ROLE: 'receiver' })
    expect(config.role).toBe('receiver')
    const hook = await sendWebhook(port, 'issues', examplePayload('issues', 'labeled'))
    expect(hook.status).toBe(200)
    // A worker would claim it at once (enqueue wakes it); give one a chance to.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect((await queue.listJobs()).map((j) => [j.kind, j.state, j.attempts])).toEqual([
      ['intake-issue', 'queued', 0],
    ])
    const health = await httpRequest(`http://127.0.0.1:${port}/api/health`)
    expect(health.json()).toEqual({ status: 'ok' })
  })

  it('keeps DEVSYS_WORKER=off working as a receiver, with a warning to use DEVSYS_ROLE', async () => {
    const lines: string[] = []
    const { port, queue, config } = await start({ DEVSYS_WORKER: 'off' }, { lines })
    expect(config.role).toBe('receiver')
    expect((await sendWebhook(port, 'issues', examplePayload('issues', 'labeled'))).status).toBe(
      200,
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect((await queue.listJobs()).map((j) => j.state)).toEqual(['queued'])
    expect(lines.join('')).toContain(
      'DEVSYS_WORKER=off is deprecated: it means DEVSYS_ROLE=receiver; set that instead',
    )
  })
})

describe('DEVSYS_ROLE=worker', () => {
  it('with DEVSYS_QUEUES=test runs a run-tests job but leaves a generate job queued', async () => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
    const { queue, port } = await start({
      DEVSYS_ROLE: 'worker',
      DEVSYS_QUEUES: 'test',
      JOB_MAX_ATTEMPTS: '1',
    })
    const generate = jobOf(await queue.enqueue(generateJob))
    const tests = jobOf(await queue.enqueue(testsJob))
    await queue.drain()
    // It ran (and found no such task in the store, so it stopped there).
    expect(await queue.getJob(tests.id)).toMatchObject({ state: 'done', attempts: 1 })
    expect((await queue.getJob(tests.id))?.outcome).toMatchObject({ status: 'skipped' })
    expect(await queue.getJob(generate.id)).toMatchObject({
      state: 'queued',
      attempts: 0,
      lastError: null,
    })

    // Its whole HTTP surface is the health check: no webhooks, no manager API.
    const base = `http://127.0.0.1:${port}`
    expect((await httpRequest(`${base}/api/health`)).json()).toEqual({
      status: 'ok',
      role: 'worker',
      queues: ['test'],
    })
    const hook = await sendWebhook(port, 'issues', examplePayload('issues', 'labeled'))
    expect(hook.status).toBe(404)
    expect(hook.text).toContain('Send webhooks and API requests to a receiver')
    expect((await httpRequest(`${base}/api/tasks`)).status).toBe(404)
    expect(await queue.listJobs({ kind: 'intake-issue' })).toEqual([])
  })

  it('shares the queue with a receiver: the receiver queues, the worker of that queue runs', async () => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
    // GitHub has nothing: the job ends at its first request, wherever it runs.
    nock('https://api.github.com')
      .persist()
      .post(/.*/)
      .reply(404, { message: 'stop here' })
      .get(/.*/)
      .reply(404, { message: 'stop here' })
    const dataDir = newDataDir()
    // The receiver enqueues, so its JOB_MAX_ATTEMPTS is the job's.
    const receiver = await start({ DEVSYS_ROLE: 'receiver', JOB_MAX_ATTEMPTS: '1' }, { dataDir })
    const worker = await start({ DEVSYS_ROLE: 'worker', DEVSYS_QUEUES: 'generate' }, { dataDir })
    const payload = examplePayload('issues', 'labeled')
    expect((await sendWebhook(receiver.port, 'issues', payload)).status).toBe(200)
    // The worker finds the job at its next poll: another process enqueued it.
    const deadline = Date.now() + 5_000
    const finished = async () =>
      (await worker.queue.listJobs()).some((j) => j.state === 'done' || j.state === 'failed')
    while (!(await finished())) {
      if (Date.now() > deadline)
        throw new Error(
          `the worker never ran the intake job: ${JSON.stringify(await worker.queue.listJobs())}`,
        )
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const [job] = await receiver.queue.listJobs()
    // Run once, by the worker (the receiver's queue never started): it found no repo config.
    expect(job).toMatchObject({ kind: 'intake-issue', state: 'done', attempts: 1 })
    expect(job?.outcome).toMatchObject({ status: 'skipped' })
  })
})

describe('roles at start', () => {
  it('refuses an unknown role or queue with a message that says what to set', async () => {
    const role = await start({ DEVSYS_ROLE: 'manager' }).catch((e: unknown) => e)
    expect(role).toBeInstanceOf(ConfigError)
    expect((role as ConfigError).errors).toEqual([
      'DEVSYS_ROLE: is "manager", which is not allowed; set DEVSYS_ROLE to one of: all, receiver, worker',
    ])
    const queue = await start({ DEVSYS_ROLE: 'worker', DEVSYS_QUEUES: 'test,build' }).catch(
      (e: unknown) => e,
    )
    expect(queue).toBeInstanceOf(ConfigError)
    expect((queue as ConfigError).message).toContain(
      'DEVSYS_QUEUES: has "build", which is not a queue; list queues separated by commas, from: generate, test, deploy, monitor',
    )
  })

  it('puts every job kind DevSys runs in exactly one queue', () => {
    const kinds = jobHandlers({
      config: {
        maxManifestBytes: 1,
        acceptanceAllowedHosts: { names: [], cidrs: [] },
        notify: { destinations: [], allowedHosts: { names: [], cidrs: [] } },
      },
    } as unknown as Parameters<typeof jobHandlers>[0]).map((h) => h.kind)
    const queued = QUEUE_NAMES.flatMap((queue) => QUEUE_KINDS[queue])
    expect([...queued].sort()).toEqual([...kinds].sort())
    expect(new Set(queued).size).toBe(queued.length)
  })
})

describe('graceful stop', () => {
  it('a worker stopped mid-job hands the job back, and the next worker runs it', async () => {
    const ghe = await holdingGitHub()
    try {
      const dataDir = newDataDir()
      const lines: string[] = []
      const env = {
        DEVSYS_ROLE: 'worker',
        DEVSYS_QUEUES: 'deploy',
        GHE_HOST: ghe.host,
        GHE_PROTOCOL: 'http',
        JOB_MAX_ATTEMPTS: '2',
        SHUTDOWN_GRACE_MS: '1000',
      }
      const first = await start(env, { dataDir, lines })
      const job = jobOf(
        await first.queue.enqueue(
          revertJob({ ...REPO, cloneUrl: `http://${ghe.host}/Codertocat/Hello-World.git` }),
        ),
      )
      await until('the job is running', () => ghe.held() > 0)
      const firstLock = (await first.queue.getJob(job.id))?.lockedBy
      const stopped = first.stop()
      // The job outlived the grace period: DevSys aborts it; it ends when its request does.
      await until('the job is aborted', () => lines.join('').includes('aborting them'))
      ghe.release()
      await stopped
      const logged = lines.join('')
      for (const phase of [
        'DevSys is stopping',
        'Worker: claiming no more jobs',
        'Job interrupted by shutdown; queued again',
        'Worker: stopped',
        'DevSys stopped',
      ]) {
        expect(logged).toContain(phase)
      }

      // Handed back: queued again at once, the attempt kept, the reason recorded.
      const jobs = openSqliteJobStore({ dataDir })
      const handedBack = await jobs.getJob(job.id)
      await jobs.close()
      expect(handedBack).toMatchObject({ state: 'queued', attempts: 1, lockedBy: null })
      expect(handedBack?.lastError).toContain('DevSys stopped during the job')
      expect(Date.parse(handedBack?.runAt ?? '')).toBeLessThanOrEqual(Date.now())

      const next = await start(env, { dataDir })
      await next.queue.drain()
      const after = await next.queue.getJob(job.id)
      expect(after).toMatchObject({ state: 'failed', attempts: 2 })
      expect(after?.lastError).toContain('stop here')
      expect(after?.lockedBy).not.toBe(firstLock)
    } finally {
      await ghe.close()
    }
  })

  it('a receiver answers the webhook it is receiving, and stores its job, before it stops', async () => {
    const devsys = await start({ DEVSYS_ROLE: 'receiver' })
    const body = JSON.stringify(examplePayload('issues', 'labeled'))
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`
    const socket = connect(devsys.port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    let answer = ''
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8')
    })
    socket.write(
      [
        'POST /api/github/webhooks HTTP/1.1',
        'Host: devsys',
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'X-GitHub-Event: issues',
        'X-GitHub-Delivery: in-flight-1',
        `X-Hub-Signature-256: ${signature}`,
        '',
        '',
      ].join('\r\n'),
    )
    // The answer is read once the connection closes: the server may have written it just before
    // its own stop resolved, ahead of this socket's 'data' event.
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(body.slice(0, 100))
    await new Promise((resolve) => setTimeout(resolve, 100))
    const stopped = devsys.stop()
    await new Promise((resolve) => setTimeout(resolve, 100))
    socket.end(body.slice(100))
    await Promise.all([stopped, closed])
    expect(answer).toMatch(/^HTTP\/1\.1 200/)
    const jobs = openSqliteJobStore({ dataDir: devsys.config.dataDir })
    try {
      expect(await jobs.hasDelivery('in-flight-1')).toBe(true)
    } finally {
      await jobs.close()
    }
  })

  it('a receiver closes idle keep-alive connections and finishes at once', async () => {
    const devsys = await start({ DEVSYS_ROLE: 'receiver' })
    // An idle keep-alive connection, as load balancers hold them.
    const socket = connect(devsys.port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n')
    await new Promise((resolve) => socket.once('data', resolve))
    const closed = new Promise((resolve) => socket.once('close', resolve))
    const began = Date.now()
    await devsys.stop()
    await closed
    expect(Date.now() - began).toBeLessThan(2_000)
    const refused = await httpRequest(`http://127.0.0.1:${devsys.port}/api/health`).catch(
      (e: unknown) => e,
    )
    expect(refused).toBeInstanceOf(Error)
  })
})
