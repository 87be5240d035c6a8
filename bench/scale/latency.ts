/**
 * Queue latency, enqueue() called → job started, one job at a time at a steady rate: the
 * in-process queue over SQLite, pg-boss with the worker in the enqueuing process (it is woken at
 * once), and pg-boss with the worker in another process (a receiver and a worker: the worker
 * finds the job at its next poll).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { Logger } from 'pino'
import { REDELIVER_FAILED } from '../../src/jobs/redeliver-failed.js'
import type { Queue } from '../../src/queue/queue.js'
import type { JobHandler } from '../../src/queue/types.js'
import { createTestDatabase } from '../../test/helpers/postgres.js'
import { quantile } from '../webhook-intake/load.js'
import { startGitHubStandIn } from './github-stand-in.js'
import { startWorkers } from './processes.js'
import { benchQueue } from './queues.js'

export interface Latency {
  jobs: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

export type LatencySide = 'in-process' | 'pg-boss' | 'pg-boss, worker process'

function latency(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    jobs: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? Number.NaN,
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const nowMs = () => performance.timeOrigin + performance.now()

/**
 * `jobs` jobs of a bench-only kind, registered with createQueue as src/boot.ts registers the
 * real ones; its handler notes when it starts and returns at once.
 */
async function sameProcess(queue: (handlers: JobHandler[]) => Queue, jobs: number, gapMs: number) {
  const started = new Map<number, number>()
  const probe: JobHandler<{ i: number }> = {
    kind: 'bench-probe',
    async run(payload) {
      started.set(payload.i, nowMs())
      return { status: 'done', summary: 'started' }
    },
  }
  const q = queue([probe as JobHandler])
  q.start()
  try {
    const values: number[] = []
    for (let i = 0; i < jobs; i++) {
      const at = nowMs()
      await q.enqueue({ kind: 'bench-probe', key: `probe-${i}`, payload: { i } })
      await sleep(gapMs)
      await q.drain()
      const start = started.get(i)
      if (start === undefined) throw new Error(`job ${i} did not start`)
      if (i >= Math.min(20, jobs / 10)) values.push(start - at) // the first ones warm up
    }
    return latency(values)
  } finally {
    await q.close()
  }
}

export async function measureLatency(opts: {
  jobs: number
  gapMs: number
  privateKey: string
  log: Logger
}): Promise<Record<LatencySide, Latency>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-latency-'))
  const db = await createTestDatabase()
  const gitHub = await startGitHubStandIn()
  try {
    const { log } = opts
    const inProcess = await sameProcess(
      (handlers) => benchQueue({ dataDir, handlers, log }),
      opts.jobs,
      opts.gapMs,
    )
    const pgBoss = await sameProcess(
      (handlers) => benchQueue({ url: db.url, dataDir, handlers, log }),
      opts.jobs,
      opts.gapMs,
    )
    const workerProcess = await otherProcess(db.url, dataDir, gitHub.host, opts)
    return { 'in-process': inProcess, 'pg-boss': pgBoss, 'pg-boss, worker process': workerProcess }
  } finally {
    await gitHub.close()
    await db.drop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

/**
 * A queue that is not started (a receiver) enqueues redelivery scans, one worker process runs
 * them; the start is the job's `started_on`, which the worker's claim sets from its clock (ms).
 */
async function otherProcess(
  url: string,
  dataDir: string,
  gitHubHost: string,
  opts: { jobs: number; gapMs: number; privateKey: string; log: Logger },
): Promise<Latency> {
  const receiver = benchQueue({ url, dataDir, handlers: [], log: opts.log })
  await receiver.hasDelivery('none')
  const [worker] = await startWorkers(1, {
    APP_ID: '1',
    PRIVATE_KEY: opts.privateKey,
    WEBHOOK_SECRET: 'bench-webhook-secret',
    DATABASE_URL: url,
    DEVSYS_QUEUES: 'monitor',
    GHE_HOST: gitHubHost,
    GHE_PROTOCOL: 'http',
    REDELIVERY_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'warn',
  })
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const enqueuedAt = new Map<string, number>()
    for (let i = 0; i < opts.jobs; i++) {
      const at = Date.now()
      const result = await receiver.enqueue({
        kind: REDELIVER_FAILED,
        key: `bench-latency-${i}`,
        payload: { scan: true },
      })
      if (result.kind === 'enqueued') enqueuedAt.set(result.job.id, at)
      await sleep(opts.gapMs)
    }
    const deadline = Date.now() + 30_000
    for (;;) {
      const { rows } = await client.query<{ id: string; started_on: Date | null }>(
        `SELECT id, started_on FROM devsys_queue.job
          WHERE name = 'devsys' AND state = 'completed' AND data->>'kind' = $1`,
        [REDELIVER_FAILED],
      )
      if (rows.length >= opts.jobs) {
        // In enqueue order, the first ones (warm-up) left out.
        const startedOn = new Map(rows.map((r) => [r.id, r.started_on?.getTime()]))
        const values = [...enqueuedAt].flatMap(([id, at]) => {
          const start = startedOn.get(id)
          return start === undefined ? [] : [start - at]
        })
        if (values.length !== opts.jobs)
          throw new Error(`${values.length} of ${opts.jobs} jobs ran`)
        return latency(values.slice(Math.min(20, opts.jobs / 10)))
      }
      if (Date.now() > deadline) throw new Error('the worker did not run every job within 30 s')
      await sleep(200)
    }
  } finally {
    await client.end()
    await worker?.stop()
    await receiver.close()
  }
}
