/** The scale-out benchmark's report: markdown tables of intake, workers and queue latency. */
import { describeMachine, type Machine } from '../lib/machine.js'
import type { RoundResult } from '../webhook-intake/load.js'
import type { IntakeResult } from './intake.js'
import type { Latency, LatencySide } from './latency.js'
import type { WorkerRun } from './workers.js'

export interface ScaleReport {
  machine: Machine
  loadavgAfter: number[]
  options: Record<string, number | string>
  intake?: IntakeResult
  workers?: WorkerRun[]
  latency?: Record<LatencySide, Latency>
  /** Postgres p99 / bare p99 ≤ this. */
  maxP99Ratio: number
}

const fmt = (n: number, digits = 2): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a'

/** Whether the intake target holds: Postgres p99 within maxP99Ratio × bare, every job stored once. */
export function intakeTargetMet(r: ScaleReport): boolean | undefined {
  if (!r.intake) return undefined
  const { bare, postgres } = r.intake.median
  return (
    postgres.p99Ms <= r.maxP99Ratio * bare.p99Ms && r.intake.stores.postgres.exactlyOnePerDelivery
  )
}

export function renderReport(r: ScaleReport): string {
  const lines = [
    '# Scale-out: intake on PostgreSQL, worker processes, queue latency',
    '',
    ...describeMachine(r.machine),
    `Load average after the run: ${r.loadavgAfter.map((l) => l.toFixed(2)).join(' ')}. Options: ${Object.entries(
      r.options,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}.`,
    '',
  ]
  if (r.intake) lines.push(...intakeSection(r, r.intake))
  if (r.workers) lines.push(...workerSection(r.workers))
  if (r.latency) lines.push(...latencySection(r.latency))
  return `${lines.join('\n')}\n`
}

function intakeSection(r: ScaleReport, intake: IntakeResult): string[] {
  const { bare, sqlite, postgres } = intake.median
  const row = (label: string, pick: (x: RoundResult) => number, digits: number) =>
    `| ${label} | ${fmt(pick(bare), digits)} | ${fmt(pick(sqlite), digits)} | ${fmt(pick(postgres), digits)} | ${fmt(pick(sqlite) / pick(bare))} | ${fmt(pick(postgres) / pick(bare))} |`
  const store = (name: string, s: IntakeResult['stores']['sqlite']) =>
    `${name}: ${s.deliveriesSent} deliveries sent, ${s.deliveriesRecorded} recorded, ${s.jobs} jobs, ${s.missing} missing, ${s.duplicated} duplicated: ${s.exactlyOnePerDelivery ? 'exactly one job per delivery' : 'NOT one job per delivery'}.`
  const met = intakeTargetMet(r)
  return [
    '## Webhook intake (median round)',
    '',
    '| metric | bare Probot | DevSys, SQLite | DevSys, PostgreSQL + pg-boss | SQLite / bare | PostgreSQL / bare |',
    '|---|---:|---:|---:|---:|---:|',
    row('ack latency p50 (ms)', (x) => x.p50Ms, 2),
    row('ack latency p99 (ms)', (x) => x.p99Ms, 2),
    row('throughput (req/s)', (x) => x.throughput, 0),
    `| errors (all rounds) | ${bare.errors} | ${sqlite.errors} | ${postgres.errors} | | |`,
    '',
    store('SQLite store', intake.stores.sqlite),
    store('PostgreSQL store', intake.stores.postgres),
    '',
    `Target PostgreSQL p99 ≤ ${r.maxP99Ratio} × bare with every job durable: **${met ? 'met' : 'not met'}** (${fmt(postgres.p99Ms / bare.p99Ms)} ×).`,
    '',
  ]
}

function workerSection(runs: WorkerRun[]): string[] {
  const one = runs.find((w) => w.workers === 1)
  const lines = [
    '## Job throughput by worker processes (pg-boss)',
    '',
    '| workers | jobs | seconds | jobs/s | × 1 worker | jobs/s, all busy | job run, median (ms) | CPU cores: workers | PostgreSQL | machine | transactions / job | first start after due (ms) | checks |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ]
  for (const w of runs) {
    lines.push(
      `| ${w.workers} | ${w.jobs} | ${fmt(w.seconds)} | ${fmt(w.jobsPerSecond, 1)} | ${one ? fmt(w.jobsPerSecond / one.jobsPerSecond) : 'n/a'} | ${fmt(w.steadyJobsPerSecond, 1)} | ${fmt(w.jobMs, 0)} | ${fmt(w.cores.workers)} | ${fmt(w.cores.postgres)} | ${fmt(w.cores.machine)} | ${fmt(w.transactionsPerJob, 1)} | ${fmt(w.firstStartMs, 0)} | ${w.checks.ok ? 'ok' : `FAILED (${w.checks.completed} completed, ${w.checks.listings} listings, ${w.checks.unexpected} unexpected)`} |`,
    )
  }
  lines.push(
    '',
    'CPU cores = CPU seconds / wall seconds over the run (machine: every process on it, other users included).',
    '',
  )
  return lines
}

function latencySection(latency: Record<LatencySide, Latency>): string[] {
  const base = latency['in-process']
  const lines = [
    '## Queue latency, enqueue() → job started',
    '',
    '| queue | jobs | p50 (ms) | p99 (ms) | max (ms) | p50 / in-process | p99 / in-process |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const [side, l] of Object.entries(latency)) {
    lines.push(
      `| ${side} | ${l.jobs} | ${fmt(l.p50Ms)} | ${fmt(l.p99Ms)} | ${fmt(l.maxMs)} | ${fmt(l.p50Ms / base.p50Ms, 1)} | ${fmt(l.p99Ms / base.p99Ms, 1)} |`,
    )
  }
  lines.push('')
  return lines
}
