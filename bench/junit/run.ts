/**
 * JUnit parsing benchmark: parse time and peak memory of parseJUnit on generated reports of
 * 1,000, 10,000 and 100,000 cases (90% passed, 5% failed with ~2 KB stacks, 3% skipped, 2%
 * errored, nested suites). Each parse runs in a fresh child process, so its peak RSS is its own.
 *
 *   npx tsx bench/junit/run.ts [--sizes=1000,10000,100000] [--runs=5] [--max-ms=2000] [--max-mib=300]
 *   (or BENCH_SIZES, BENCH_RUNS, BENCH_MAX_MS, BENCH_MAX_MIB)
 *
 * Exits non-zero when a report parses to the wrong counts, or when the median parse time or
 * median peak RSS of a report of up to 100,000 cases misses its target.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { generateReport } from './generate-report.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const WORKSPACE = '/home/runner/work/app/app'
const run = promisify(execFile)

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  const env = process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`]
  return arg?.slice(name.length + 3) ?? env ?? fallback
}

function numberOption(name: string, fallback: number, max: number): number {
  const raw = option(name, String(fallback))
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`--${name} must be an integer between 1 and ${max}, got ${raw}`)
  }
  return value
}

function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

interface Sample {
  ms: number
  bytes: number
  rssBeforeMiB: number
  peakRssMiB: number
  heapAfterMiB: number
  counts: Record<string, number>
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

async function parseInChild(file: string): Promise<Sample> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(HERE, 'parse-once.ts'), file, WORKSPACE],
    { maxBuffer: 1 << 20 },
  )
  return JSON.parse(stdout) as Sample
}

async function main(): Promise<void> {
  const sizes = option('sizes', '1000,10000,100000')
    .split(',')
    .map((s) => Number(s.trim()))
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 1_000_000)) {
    throw new Error('--sizes must be integers between 1 and 1000000, separated by commas')
  }
  const runs = numberOption('runs', 5, 50)
  const maxMs = numberOption('max-ms', 2000, 600_000)
  const maxMiB = numberOption('max-mib', 300, 100_000)
  const dir = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-junit-'))
  const rows: Array<{ cases: number; samples: Sample[]; ok: boolean; countsOk: boolean }> = []
  try {
    for (const cases of sizes) {
      // 1. Generate the report into a file, as a test run would leave it.
      const generated = generateReport({ cases, workspace: WORKSPACE })
      const file = path.join(dir, `report-${cases}.xml`)
      await writeFile(file, generated.xml)
      // 2. Parse it `runs` times, each in a fresh process, one after the other.
      const samples: Sample[] = []
      for (let i = 0; i < runs; i++) samples.push(await parseInChild(file))
      // 3. Check the counts, then the targets (which apply up to 100,000 cases).
      const countsOk = samples.every(
        (s) => JSON.stringify(s.counts) === JSON.stringify(generated.expected),
      )
      const withinTargets =
        cases > 100_000 ||
        (median(samples.map((s) => s.ms)) < maxMs &&
          median(samples.map((s) => s.peakRssMiB)) < maxMiB)
      rows.push({ cases, samples, countsOk, ok: countsOk && withinTargets })
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }

  const fmt = (n: number, digits = 0): string => n.toFixed(digits)
  const lines = [
    '# JUnit parsing: parseJUnit on generated reports',
    '',
    `${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}.`,
    `Median of ${runs} runs per size, each in a fresh \`node --import tsx\` process; targets up to 100,000 cases: parse < ${maxMs} ms, peak RSS < ${maxMiB} MiB.`,
    '',
    '| cases | report (MiB) | parse median (ms) | parse min–max (ms) | peak RSS median (MiB) | RSS before parse (MiB) | parse’s own peak (MiB) | heap after (MiB) | counts | targets |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|',
  ]
  for (const { cases, samples, ok, countsOk } of rows) {
    const ms = samples.map((s) => s.ms)
    const peak = median(samples.map((s) => s.peakRssMiB))
    const before = median(samples.map((s) => s.rssBeforeMiB))
    lines.push(
      `| ${cases.toLocaleString('en-US')} | ${fmt((samples[0]?.bytes ?? 0) / 2 ** 20, 1)} | ${fmt(median(ms))} | ${fmt(Math.min(...ms))}–${fmt(Math.max(...ms))} | ${fmt(peak)} | ${fmt(before)} | ${fmt(peak - before)} | ${fmt(median(samples.map((s) => s.heapAfterMiB)))} | ${countsOk ? 'right' : 'WRONG'} | ${ok ? 'met' : 'MISSED'} |`,
    )
  }
  lines.push(
    '',
    'Peak RSS is the whole child process (`process.resourceUsage().maxRSS`): Node, the tsx loader, the report file read into a Buffer, its decoded text, the parser tree and the result. "Parse’s own peak" subtracts the RSS measured just before parsing.',
  )
  const markdown = lines.join('\n')
  print(markdown)
  await writeFile(path.join(HERE, 'results.md'), `${markdown}\n`)
  await writeFile(
    path.join(HERE, 'results.json'),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: os.cpus().length,
        loadavg: os.loadavg(),
        options: { sizes, runs, maxMs, maxMiB },
        results: rows,
      },
      null,
      2,
    )}\n`,
  )
  if (rows.some((r) => !r.ok)) {
    print('\nA target was missed or a count was wrong (see the table).')
    process.exitCode = 1
  }
}

await main()
