/**
 * Job throughput with 1, 2, 4 … worker processes: N `redeliver-failed` scans due at one instant
 * in a fresh database, run by DevSys workers (`src/main.ts`, DEVSYS_ROLE=worker,
 * DEVSYS_QUEUES=monitor), each reading the (empty) delivery log of the GitHub stand-in once.
 *
 * Why scans and not the redeliveries a scan enqueues: a redelivery is a POST, and Probot's
 * throttling lets one process send one GitHub write a second (Octokit's write limiter), so those
 * jobs measure that limit (1 job/s per process), not the queue. A scan is one GET.
 */
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { Logger } from 'pino'
import { REDELIVER_FAILED } from '../../src/jobs/redeliver-failed.js'
import type { RedeliverPayload } from '../../src/triggers/job-payloads.js'
import { createTestDatabase } from '../../test/helpers/postgres.js'
import { startGitHubStandIn } from './github-stand-in.js'
import { machineCpu, postgresStats } from './postgres-stats.js'
import { cpuDelta, cpuSnapshot, startWorkers } from './processes.js'
import { benchQueue } from './queues.js'

/**
 * The benchmark's own jobs: the workers also run the monitor queue's repeating jobs (the
 * monitor's sweep, registered 30 s after start), which are not part of the measure.
 */
const BENCH_JOBS = `data->>'kind' = '${REDELIVER_FAILED}'`

export interface WorkerRun {
  workers: number
  jobs: number
  /** First job started → last job completed. */
  seconds: number
  jobsPerSecond: number
  /** Jobs started while every worker was busy (after each one's first claim, before any one's last). */
  steadyJobsPerSecond: number
  /** CPU cores busy on average over the run (CPU seconds / wall seconds). */
  cores: { workers: number; postgres: number; bench: number; machine: number }
  /** Transactions in the database per job (claim, delivery check, completion, empty claims, polls). */
  transactionsPerJob: number
  /** Median ms from a job's claim to its completion being written (the handler and two writes). */
  jobMs: number
  /** ms from the jobs being due to the first one starting (the workers poll once a second). */
  firstStartMs: number
  /** Every job completed, each listed the delivery log once, nothing else was asked of GitHub. */
  checks: { completed: number; listings: number; unexpected: number; ok: boolean }
}

interface JobRow {
  locked_by: string | null
  started_on: Date | null
  completed_on: Date | null
  state: string
}

/** One measured run with `workers` processes in a database of its own (dropped afterwards). */
export async function measureWorkers(opts: {
  workers: number
  jobs: number
  privateKey: string
  log: Logger
}): Promise<WorkerRun> {
  const db = await createTestDatabase()
  const gitHub = await startGitHubStandIn()
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-scale-'))
  const stats = await postgresStats(db.name)
  const enqueuer = benchQueue({ url: db.url, dataDir, handlers: [], log: opts.log })
  try {
    // 1. pg-boss's schema first (the enqueuing side's pool), then the workers, idle and polling.
    await enqueuer.hasDelivery('none')
    const workers = await startWorkers(opts.workers, {
      APP_ID: '1',
      PRIVATE_KEY: opts.privateKey,
      WEBHOOK_SECRET: 'bench-webhook-secret',
      DATABASE_URL: db.url,
      DEVSYS_QUEUES: 'monitor',
      GHE_HOST: gitHub.host,
      GHE_PROTOCOL: 'http',
      REDELIVERY_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'warn',
    })
    try {
      // 2. N scans, each with a key of its own (the schedule gives every scan one key, which
      //    would run them one at a time), all due at one instant after the last is stored, so
      //    the workers start together.
      const dueAt = Date.now() + Math.max(3_000, opts.jobs * 8)
      let next = 1
      const enqueueOne = async () => {
        while (next <= opts.jobs) {
          const payload: RedeliverPayload = { scan: true }
          const key = `bench-scan-${next++}-${randomUUID()}`
          await enqueuer.enqueue({
            kind: REDELIVER_FAILED,
            key,
            payload,
            delayMs: dueAt - Date.now(),
          })
        }
      }
      await Promise.all(Array.from({ length: 32 }, enqueueOne))
      const enqueuedBeforeDueMs = dueAt - Date.now()
      if (enqueuedBeforeDueMs < 0) opts.log.warn({ enqueuedBeforeDueMs }, 'enqueue ran late')
      await enqueuer.close()
      const watch = new pg.Client({ connectionString: db.url })
      await watch.connect()
      let ownQueries = 0
      const completed = async () => {
        ownQueries++
        const { rows } = await watch.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM devsys_queue.job WHERE name = 'devsys' AND ${BENCH_JOBS} AND state IN ('completed', 'failed')`,
        )
        return rows[0]?.n ?? 0
      }
      while (Date.now() < dueAt - 200) await sleep(50)
      const transactionsBefore = await stats.transactions()
      const pgBefore = await stats.backendCpu()
      const workersBefore = cpuSnapshot(workers.map((w) => w.pid))
      const benchBefore = process.cpuUsage()
      const machineBefore = machineCpu()
      const started = Date.now()
      const timeoutMs = Number(process.env.BENCH_WORKER_TIMEOUT_MS ?? 300_000)
      // 3. Wait for every job to finish (polled twice a second, on a connection of its own).
      const deadline = started + timeoutMs
      while ((await completed()) < opts.jobs) {
        if (Date.now() > deadline) {
          const { rows: states } = await watch.query(
            'SELECT state::text, count(*)::int AS n FROM devsys_queue.job GROUP BY 1',
          )
          await watch.end()
          throw new Error(
            `the workers did not finish within ${timeoutMs / 1000} s: jobs ${JSON.stringify(states)}; a worker's log:\n${workers[0]?.stderr()}`,
          )
        }
        await sleep(500)
      }
      const wall = (Date.now() - started) / 1000
      const pgAfter = await stats.backendCpu()
      const machineAfter = machineCpu()
      const bench = process.cpuUsage(benchBefore)
      const workersCpu = cpuDelta(workersBefore, cpuSnapshot(workers.map((w) => w.pid)))
      const pgCpu = cpuDelta(pgBefore, new Map([...pgBefore, ...pgAfter]))
      const { rows } = await watch.query<JobRow>(
        `SELECT data->>'lockedBy' AS locked_by, started_on, completed_on, state::text FROM devsys_queue.job WHERE name = 'devsys' AND ${BENCH_JOBS}`,
      )
      await watch.end()
      // 4. Stopped workers have flushed their statistics: the transactions are complete.
      await Promise.all(workers.map((w) => w.stop()))
      await sleep(500)
      const transactions = (await stats.transactions()) - transactionsBefore - ownQueries - 1
      return summarize(rows, {
        workers: opts.workers,
        jobs: opts.jobs,
        dueAt,
        cores: {
          workers: workersCpu / wall,
          postgres: pgCpu / wall,
          bench: (bench.user + bench.system) / 1e6 / wall,
          machine: (machineAfter.busy - machineBefore.busy) / wall,
        },
        transactionsPerJob: transactions / opts.jobs,
        listings: gitHub.listings(),
        unexpected: gitHub.unexpected(),
      })
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
  } finally {
    await enqueuer.close().catch(() => undefined)
    await stats.close()
    await gitHub.close()
    await db.drop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

function summarize(
  rows: JobRow[],
  m: {
    workers: number
    jobs: number
    dueAt: number
    cores: WorkerRun['cores']
    transactionsPerJob: number
    listings: number
    unexpected: number
  },
): WorkerRun {
  const ms = (d: Date | null) => d?.getTime() ?? Number.NaN
  const starts = rows.map((r) => ms(r.started_on))
  const first = Math.min(...starts)
  const last = Math.max(...rows.map((r) => ms(r.completed_on)))
  // Per worker process (the lock id is `<worker>#<claim>`): its first and last claim.
  const byWorker = new Map<string, number[]>()
  for (const r of rows) {
    const worker = (r.locked_by ?? '').split('#')[0] ?? ''
    byWorker.set(worker, [...(byWorker.get(worker) ?? []), ms(r.started_on)])
  }
  const allBusy = Math.max(...[...byWorker.values()].map((s) => Math.min(...s)))
  const oneDone = Math.min(...[...byWorker.values()].map((s) => Math.max(...s)))
  const steady = starts.filter((s) => s >= allBusy && s < oneDone).length
  const completed = rows.filter((r) => r.state === 'completed').length
  const seconds = (last - first) / 1000
  return {
    workers: m.workers,
    jobs: m.jobs,
    seconds,
    jobsPerSecond: m.jobs / seconds,
    steadyJobsPerSecond: oneDone > allBusy ? steady / ((oneDone - allBusy) / 1000) : Number.NaN,
    cores: m.cores,
    transactionsPerJob: m.transactionsPerJob,
    jobMs: median(rows.map((r) => ms(r.completed_on) - ms(r.started_on))),
    firstStartMs: first - m.dueAt,
    checks: {
      completed,
      listings: m.listings,
      unexpected: m.unexpected,
      ok:
        completed === m.jobs &&
        m.listings === m.jobs &&
        m.unexpected === 0 &&
        byWorker.size === m.workers,
    },
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
