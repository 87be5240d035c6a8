import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createInProcessQueue } from '../../src/queue/in-process-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore, type SqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import type { JobHandler } from '../../src/queue/types.js'
import { silentLog, tempDir } from '../store/support.js'

const fixture = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

let tmp: ReturnType<typeof tempDir>
let child: ChildProcess | undefined
let store: SqliteJobStore | undefined
let queue: Queue | undefined

beforeEach(() => {
  tmp = tempDir('devsys-crash-')
})
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await queue?.stop()
  await store?.close()
  tmp.remove()
})

/** Starts the worker process and resolves with the job id once its handler is running. */
function startWorker(maxAttempts: number, leaseMs = 300): Promise<{ jobId: string; pid: number }> {
  const args = ['--import', 'tsx', fixture, tmp.dir, String(maxAttempts), String(leaseMs)]
  const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  child = proc
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const ready = /ready (\d+) (\d+)/.exec(out)
      if (ready && proc.pid !== undefined) resolve({ jobId: ready[1] ?? '', pid: proc.pid })
    })
    proc.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    proc.on('exit', (code, signal) =>
      reject(new Error(`worker exited (${code ?? signal}): ${err}`)),
    )
  })
}

function killHard(proc: ChildProcess | undefined): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (!proc) return resolve(null)
    proc.once('exit', (_code, signal) => resolve(signal))
    proc.kill('SIGKILL')
  })
}

function recordingHandler() {
  const runs: { attempts: number; payload: unknown }[] = []
  const failures: { error: string; state: string }[] = []
  const handler: JobHandler = {
    kind: 'generate',
    async run(payload, ctx) {
      runs.push({ attempts: ctx.job.attempts, payload })
      return { status: 'done', summary: 'generated after the crash' }
    },
    async onFailed(_payload, error, ctx) {
      failures.push({ error, state: ctx.job.state })
    },
  }
  return { handler, runs, failures }
}

describe('a worker process killed with SIGKILL mid-job', () => {
  it('leaves the job to be retried by the next process, which completes it', async () => {
    const { jobId, pid } = await startWorker(3)
    expect(await killHard(child)).toBe('SIGKILL')

    store = openSqliteJobStore({ dataDir: tmp.dir })
    const orphan = await store.getJob(jobId)
    expect(orphan).toMatchObject({ state: 'running', attempts: 1 })
    expect(orphan?.lockedBy).toContain(`:${pid}:`)

    const { handler, runs, failures } = recordingHandler()
    queue = createInProcessQueue({
      jobs: store,
      handlers: [handler],
      log: silentLog,
      pollMs: 50,
      backoff: { baseMs: 10, maxMs: 20 },
    })
    queue.start()
    await queue.drain()

    expect(runs).toEqual([{ attempts: 2, payload: { task: 'crash' } }])
    expect(failures).toEqual([])
    expect(await store.getJob(jobId)).toMatchObject({
      state: 'done',
      attempts: 2,
      outcome: { status: 'done', summary: 'generated after the crash' },
      lastError:
        'the DevSys process running this job stopped (crash or kill) during attempt 1 of 3',
    })
    // The webhook that created the job is still known: a redelivery does not run it again.
    expect(
      await queue.enqueue(
        { kind: 'generate', key: 'task:crash', payload: {} },
        { delivery: { id: 'delivery-crash', event: 'issues' } },
      ),
    ).toEqual({
      kind: 'duplicate-delivery',
      deliveryId: 'delivery-crash',
    })
  })

  it('fails the job and tells the user when it had no attempts left', async () => {
    const { jobId } = await startWorker(1)
    await killHard(child)

    store = openSqliteJobStore({ dataDir: tmp.dir })
    const { handler, runs, failures } = recordingHandler()
    queue = createInProcessQueue({ jobs: store, handlers: [handler], log: silentLog, pollMs: 50 })
    queue.start()
    await queue.drain()

    expect(runs).toEqual([])
    expect(failures).toHaveLength(1)
    expect(failures[0]?.state).toBe('failed')
    expect(failures[0]?.error).toMatch(
      /^the DevSys process running this job stopped \(crash or kill\) during attempt 1 of 1; DevSys gave up/,
    )
    expect(await store.getJob(jobId)).toMatchObject({
      state: 'failed',
      attempts: 1,
      lastError: failures[0]?.error,
    })
    // Recovery is idempotent: a second pass finds nothing and onFailed is not called again.
    expect(await queue.recover()).toBe(0)
    expect(failures).toHaveLength(1)
  })
})

describe('a restart on the same DATA_DIR after SIGKILL', () => {
  const LEASE_MS = 30_000 // DevSys's default JOB_LEASE_MS

  it("retries its dead predecessor's job within seconds, not after the 30 s lease", async () => {
    const { jobId, pid } = await startWorker(3, LEASE_MS)
    expect(await killHard(child)).toBe('SIGKILL')
    const killedAt = Date.now()

    store = openSqliteJobStore({ dataDir: tmp.dir })
    const orphan = await store.getJob(jobId)
    expect(orphan).toMatchObject({ state: 'running', attempts: 1 })
    // The lease still has almost all of its 30 s to run.
    expect(Date.parse(orphan?.lockedUntil ?? '') - killedAt).toBeGreaterThan(LEASE_MS - 5_000)

    const { handler, runs } = recordingHandler()
    queue = createInProcessQueue({
      jobs: store,
      handlers: [handler],
      log: silentLog,
      leaseMs: LEASE_MS,
    })
    queue.start()
    await queue.drain()
    const elapsed = Date.now() - killedAt

    expect(runs).toEqual([{ attempts: 2, payload: { task: 'crash' } }])
    expect(elapsed).toBeLessThan(5_000)
    const after = await store.getJob(jobId)
    expect(after).toMatchObject({
      state: 'done',
      attempts: 2,
      lastError:
        'the DevSys process running this job stopped (crash or kill) during attempt 1 of 3',
    })
    // Run by this process, not by the dead one.
    expect(after?.lockedBy).toContain(`:${process.pid}:`)
    expect(after?.lockedBy).not.toContain(`:${pid}:`)
  }, 20_000)

  it("leaves a live worker's lease alone, and takes the job over as soon as that worker dies", async () => {
    const { jobId, pid } = await startWorker(3, LEASE_MS)
    store = openSqliteJobStore({ dataDir: tmp.dir })
    const { handler, runs } = recordingHandler()
    queue = createInProcessQueue({
      jobs: store,
      handlers: [handler],
      log: silentLog,
      leaseMs: LEASE_MS,
      pollMs: 50,
    })
    queue.start()

    // Twenty polls and an explicit pass: the other process is alive, so its job stays its own.
    await new Promise((r) => setTimeout(r, 1_000))
    expect(await queue.recover()).toBe(0)
    expect(runs).toEqual([])
    const held = await store.getJob(jobId)
    expect(held).toMatchObject({ state: 'running', attempts: 1, lastError: null })
    expect(held?.lockedBy).toContain(`:${pid}:`)

    expect(await killHard(child)).toBe('SIGKILL')
    const killedAt = Date.now()
    await queue.drain()
    expect(Date.now() - killedAt).toBeLessThan(5_000)
    expect(runs).toEqual([{ attempts: 2, payload: { task: 'crash' } }])
    expect(await store.getJob(jobId)).toMatchObject({ state: 'done', attempts: 2 })
  }, 20_000)
})
