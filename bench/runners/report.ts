import type { VariantName } from './variants.js'
import type { WorkloadName } from './workloads.js'
import { type Summary, summarize } from '../lib/summarize.js'
import { describeMachine } from '../lib/machine.js'

/** One workload on one variant: its measured runs, or why there are none. */
export interface Row {
  workload: WorkloadName
  variant: VariantName
  status: 'measured' | 'not available' | 'failed'
  /** Why not available, or what failed. */
  reason?: string
  /** Wall time of each measured run, ms. */
  ms: number[]
  /** The runner's own `durationMs` of each measured run. */
  runnerMs: number[]
  /** Test cases in each measured run's report. */
  tests: number[]
  summary?: Summary
  /** median / direct median. */
  ratio?: number
  /** median − direct median, ms. */
  overheadMs?: number
  /** p90 − direct p90, ms. */
  overheadP90Ms?: number
}

/** Fills in summary, ratio and overhead of every measured row against its workload's direct row. */
export function compare(rows: Row[]): Row[] {
  for (const row of rows) {
    if (row.status === 'measured' && row.ms.length > 0) row.summary = summarize(row.ms)
  }
  for (const row of rows) {
    const direct = rows.find((r) => r.workload === row.workload && r.variant === 'direct')
    if (row.summary === undefined || direct?.summary === undefined) continue
    row.ratio = row.summary.median / direct.summary.median
    row.overheadMs = row.summary.median - direct.summary.median
    row.overheadP90Ms = row.summary.p90 - direct.summary.p90
  }
  return rows
}

/** What the sandbox costs on one workload: the local runner sandboxed against unconfined. */
export interface SandboxCost {
  workload: WorkloadName
  sandboxedMedianMs: number
  unconfinedMedianMs: number
  /** sandboxed median / unconfined median. */
  ratio: number
  /** sandboxed median − unconfined median, ms. */
  costMs: number
  /** sandboxed p90 − unconfined p90, ms. */
  costP90Ms: number
}

/** The sandbox's cost per workload where both `local` and `local-unconfined` were measured. */
export function compareSandbox(rows: Row[]): SandboxCost[] {
  const costs: SandboxCost[] = []
  for (const sandboxed of rows) {
    if (sandboxed.variant !== 'local' || sandboxed.summary === undefined) continue
    const unconfined = rows.find(
      (r) => r.workload === sandboxed.workload && r.variant === 'local-unconfined',
    )?.summary
    if (unconfined === undefined) continue
    const s = sandboxed.summary
    costs.push({
      workload: sandboxed.workload,
      sandboxedMedianMs: s.median,
      unconfinedMedianMs: unconfined.median,
      ratio: s.median / unconfined.median,
      costMs: s.median - unconfined.median,
      costP90Ms: s.p90 - unconfined.p90,
    })
  }
  return costs
}

const ms = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n)
    ? '–'
    : n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })

/** Which run the nearest-rank p90 of `runs` runs is: 'the slowest', 'the 2nd slowest'… */
function p90Rank(runs: number): string {
  const n = runs - Math.ceil(0.9 * runs) + 1
  return n <= 1 ? 'the slowest' : `the ${n}${n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'} slowest`
}

export interface ReportInput {
  date: string
  node: string
  cpus: number
  cpuModel: string
  /** Load average when the run started (`loadavg` is at its end). */
  loadavgBefore?: number[]
  loadavg: number[]
  runs: number
  warmup: number
  tools: Record<string, string>
  rows: Row[]
}

export function renderReport(input: ReportInput): string {
  const lines = [
    '# Runners: overhead over running the command directly',
    '',
    ...describeMachine(input),
    ...(input.loadavgBefore === undefined
      ? []
      : [
          `Load average when the run started: ${input.loadavgBefore.map((l) => l.toFixed(2)).join(' ')} (the figure above is at its end).`,
        ]),
    `${input.runs} measured runs per row after ${input.warmup} warm-up, interleaved: each round runs every row once, rotating which variant goes first. p90 is the nearest rank (with ${input.runs} runs, ${p90Rank(input.runs)}).`,
    '',
    '| workload | variant | median (ms) | p90 (ms) | min–max (ms) | × direct | overhead median (ms) | overhead p90 (ms) | tests |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const row of input.rows) {
    const s = row.summary
    if (row.status !== 'measured' || s === undefined) {
      lines.push(
        `| ${row.workload} | ${row.variant} | ${row.status}: ${(row.reason ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ')} | | | | | | |`,
      )
      continue
    }
    const tests = [...new Set(row.tests)].join(', ')
    lines.push(
      `| ${row.workload} | ${row.variant} | ${ms(s.median)} | ${ms(s.p90)} | ${ms(s.min)}–${ms(s.max)} | ${row.ratio === undefined ? '–' : `${row.ratio.toFixed(2)}×`} | ${row.variant === 'direct' ? '–' : ms(row.overheadMs)} | ${row.variant === 'direct' ? '–' : ms(row.overheadP90Ms)} | ${tests} |`,
    )
  }
  const costs = compareSandbox(input.rows)
  if (costs.length > 0) {
    lines.push(
      '',
      'What the sandbox costs: the local runner in its bubblewrap sandbox (`local`) against the same runner unconfined (`local-unconfined`, as with DEVSYS_UNSAFE_NO_SANDBOX=true), in the same rounds.',
      '',
      '| workload | sandboxed median (ms) | unconfined median (ms) | sandboxed / unconfined | cost median (ms) | cost p90 (ms) |',
      '|---|---:|---:|---:|---:|---:|',
    )
    for (const c of costs) {
      lines.push(
        `| ${c.workload} | ${ms(c.sandboxedMedianMs)} | ${ms(c.unconfinedMedianMs)} | ${c.ratio.toFixed(2)}× | ${ms(c.costMs)} | ${ms(c.costP90Ms)} |`,
      )
    }
  }
  lines.push(
    '',
    '- **blog**: the PHP blog the scaffold generates from `specs/create-blog.json`, with its real command `phpunit --log-junit build/junit.xml`. **trivial**: the same work tree, `sh -c` writing a one-case report, so what remains is the fixed cost of a run.',
    '- **direct**: `spawn` in a fresh copy of the work tree (without `.git`, made before the clock starts), environment like the local runner’s; timed from spawn to the exit with stdout and stderr closed.',
    '- **local**, **local-unconfined**, **docker**, **remote-ssh**: `runner.run()` of the runner from `createRunner`, timed from the call to its result: copying the work tree in, running the command, reading the report back, removing the sandbox. local: the command in the bubblewrap sandbox (pid, network, ipc, uts and mount namespaces, `setpriv` to an unprivileged user when DevSys is root, `prlimit` limits), where a fixed `sh` script copies the work tree into a size-limited tmpfs `/work`, runs the command and hands the report back over fd 3. local-unconfined: the same runner with the sandbox off (DEVSYS_UNSAFE_NO_SANDBOX=true), the command a plain child process in the copy. docker: a new container per run (engine check, create, `putArchive`, start, attach, wait, `getArchive`, remove with its volume), limited to 1 CPU. remote-ssh: a new SSH connection per run to an OpenSSH server on 127.0.0.1 (key exchange, key login, then four exec channels — `mktemp -d`, the command, the kill of its process group, `rm -rf` — and one SFTP session for the upload and the report).',
    '- Every run is checked: exit code 0 and a JUnit report that parses with at least one test case and no failure; a run that is not fails the benchmark.',
  )
  return `${lines.join('\n')}\n`
}
