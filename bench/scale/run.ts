/**
 * Scale-out benchmark (issue 13, item 8), in one run on this machine:
 * 1. webhook intake: bare Probot vs DevSys receiver on SQLite vs on PostgreSQL + pg-boss;
 * 2. job throughput with 1, 2, 4 worker processes (DEVSYS_ROLE=worker) on pg-boss;
 * 3. queue latency, enqueue → start: in-process (SQLite) vs pg-boss, same and other process.
 *
 *   npx tsx bench/scale/run.ts [--n=2000] [--concurrency=16] [--warmup=1000] [--rounds=3]
 *     [--jobs=1000] [--workers=1,2,4] [--latency-jobs=200] [--latency-gap-ms=50]
 *     [--max-p99-ratio=1.5] [--only=intake,workers,latency]   (or BENCH_* variables)
 *
 * Needs PostgreSQL as the tests use it (test/helpers/postgres.ts): each part makes a database of
 * its own and drops it at the end.
 */
import { generateKeyPairSync } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { createTestDatabase, requirePostgres } from '../../test/helpers/postgres.js'
import { intOption, numberOption, option } from '../lib/options.js'
import { measureIntake } from './intake.js'
import { measureLatency } from './latency.js'
import { intakeTargetMet, renderReport, type ScaleReport } from './report.js'
import { measureWorkers } from './workers.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const PARTS = ['intake', 'workers', 'latency'] as const

function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

async function main(): Promise<void> {
  const options = {
    n: intOption('n', 2000, 1, 1_000_000),
    concurrency: intOption('concurrency', 16, 1, 1024),
    warmup: intOption('warmup', 1000, 0, 1_000_000),
    rounds: intOption('rounds', 3, 1, 100),
    jobs: intOption('jobs', 1000, 1, 1_000_000),
    workers: option('workers') ?? '1,2,4',
    latencyJobs: intOption('latency-jobs', 200, 20, 100_000),
    latencyGapMs: intOption('latency-gap-ms', 50, 0, 10_000),
    maxP99Ratio: numberOption('max-p99-ratio', 1.5, 0, 1000),
    only: option('only') ?? PARTS.join(','),
  }
  const workerCounts = options.workers.split(',').map(Number)
  if (workerCounts.some((w) => !Number.isInteger(w) || w < 1 || w > 32)) {
    throw new Error(
      `--workers must list worker counts from 1 to 32, e.g. 1,2,4; got ${options.workers}`,
    )
  }
  const parts = new Set(options.only.split(','))
  if (!(await requirePostgres('the scale-out benchmark runs DevSys on PostgreSQL'))) {
    process.exitCode = 1
    return
  }
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const log = pino({ level: 'warn' })
  const report: ScaleReport = {
    machine: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
      loadavg: os.loadavg(),
      tools: { postgresql: await postgresVersion() },
    },
    loadavgAfter: [],
    options: { ...options },
    maxP99Ratio: options.maxP99Ratio,
  }
  print(
    `scale-out: ${JSON.stringify(options)}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )

  // 1. Webhook intake, three receivers side by side.
  if (parts.has('intake')) {
    print('webhook intake: bare Probot, DevSys on SQLite, DevSys on PostgreSQL + pg-boss')
    const db = await createTestDatabase()
    try {
      report.intake = await measureIntake({ ...options, privateKey, databaseUrl: db.url, log })
    } finally {
      await db.drop()
    }
  }
  // 2. Worker processes, each count in a database of its own.
  if (parts.has('workers')) {
    report.workers = []
    for (const workers of workerCounts) {
      print(`workers: ${workers} process(es), ${options.jobs} jobs`)
      const run = await measureWorkers({ workers, jobs: options.jobs, privateKey, log })
      print(`  ${run.jobsPerSecond.toFixed(1)} jobs/s, checks ${run.checks.ok ? 'ok' : 'FAILED'}`)
      report.workers.push(run)
    }
  }
  // 3. Queue latency.
  if (parts.has('latency')) {
    print(`queue latency: ${options.latencyJobs} jobs, one every ${options.latencyGapMs} ms`)
    report.latency = await measureLatency({
      jobs: options.latencyJobs,
      gapMs: options.latencyGapMs,
      privateKey,
      log,
    })
  }

  report.loadavgAfter = os.loadavg()
  const markdown = renderReport(report)
  print('')
  print(markdown)
  await writeFile(path.join(HERE, 'results.md'), markdown)
  await writeFile(path.join(HERE, 'results.json'), `${JSON.stringify(report, null, 2)}\n`)
  const failed =
    (report.intake &&
      (!report.intake.stores.postgres.exactlyOnePerDelivery ||
        !report.intake.stores.sqlite.exactlyOnePerDelivery ||
        Object.values(report.intake.median).some((m) => m.errors > 0))) ||
    report.workers?.some((w) => !w.checks.ok)
  // A missed latency target is reported; a wrong result (lost or doubled jobs) fails the run.
  if (intakeTargetMet(report) === false) print('intake target not met (reported, not enforced)')
  if (failed) process.exitCode = 1
}

async function postgresVersion(): Promise<string> {
  const { default: pg } = await import('pg')
  const { POSTGRES_ADMIN_URL } = await import('../../test/helpers/postgres.js')
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await client.connect()
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
    return rows[0]?.server_version ?? 'unknown'
  } finally {
    await client.end()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exitCode = 1
})
