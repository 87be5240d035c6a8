/**
 * Runners benchmark: what each DevSys runner (local, docker, remote-ssh) adds over running the
 * same command directly, in the same run, and what the local runner's sandbox costs (local
 * against local-unconfined). Workloads: the generated PHP blog's real PHPUnit suite
 * (specs/create-blog.json through the scaffold generator) and a trivial command in the same work
 * tree (the fixed cost of a run).
 *
 *   npx tsx bench/runners/run.ts [--runs=5] [--warmup=1] [--runners=direct,local,local-unconfined,docker,remote-ssh] [--require-all]
 *   (or BENCH_RUNS, BENCH_WARMUP, BENCH_RUNNERS, BENCH_REQUIRE_ALL=1)
 *
 * local needs bubblewrap (bwrap), setpriv and prlimit (the SANDBOX_* settings are read as DevSys
 * reads them; DEVSYS_UNSAFE_NO_SANDBOX is not: local-unconfined is that). docker needs a running
 * dockerd with devsys/php-runner:latest (runner/docker/build-images.sh;
 * DOCKER_HOST and DOCKER_RUNNER_IMAGE are read as DevSys reads them); remote-ssh starts OpenSSH's
 * sshd on a loopback port with its own keys. A runner that is missing is reported as "not
 * available" unless --require-all. Exits non-zero when a run fails or its JUnit report is missing
 * or has no tests.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { readRunnerConfig } from '../../runner/create-runner.js'
import type { Sshd } from '../../test/helpers/services.js'
import { createBlogWorkspace } from '../../test/runner/blog-workspace.js'
import { compare, compareSandbox, renderReport, type Row } from './report.js'
import {
  directVariant,
  type Prepared,
  prepareVariant,
  type Variant,
  VARIANT_NAMES,
  type VariantName,
} from './variants.js'
import { checkOutcome, WORKLOADS, type Workload } from './workloads.js'
import { intOption, option } from '../lib/options.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const exec = promisify(execFile)

function runnersOption(): VariantName[] {
  const raw = option('runners') ?? VARIANT_NAMES.join(',')
  const names = raw.split(',').map((s) => s.trim())
  const unknown = names.filter((n) => !VARIANT_NAMES.includes(n as VariantName))
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(`--runners takes a list of ${VARIANT_NAMES.join(', ')}; got ${raw}`)
  }
  // Direct is the baseline every ratio needs.
  return VARIANT_NAMES.filter((n) => n === 'direct' || names.includes(n))
}

function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

/** The first line a tool prints for its version, or why there is none. */
async function version(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { timeout: 10_000 })
    return (stdout.trim() || stderr.trim()).split('\n')[0] ?? ''
  } catch (error) {
    return `unavailable (${(error as { code?: string }).code ?? 'error'})`
  }
}

async function main(): Promise<void> {
  const runs = intOption('runs', 5, 1, 100)
  const warmup = intOption('warmup', 1, 0, 10)
  const requireAll = ['true', '1'].includes(option('require-all') ?? 'false')
  const names = runnersOption()
  const loadavgBefore = os.loadavg()
  const log = pino({ level: 'silent' })
  const config = readRunnerConfig(process.env)
  const root = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-runners-'))
  const ws = await createBlogWorkspace()
  let sshd: Sshd | undefined
  try {
    print(`runners: runs=${runs} warmup=${warmup} variants=${names.join(',')} (in ${root})`)
    const tools = {
      phpunit: await version('phpunit', ['--version']),
      bwrap: await version('bwrap', ['--version']),
      ssh: await version('ssh', ['-V']),
      'docker engine': await version('docker', ['version', '--format', '{{.Server.Version}}']),
    }
    const hostPhpunit = !tools.phpunit.startsWith('unavailable')

    // 1. The variants: direct, and each runner made by createRunner and probed once.
    const [probe] = WORKLOADS.filter((w) => w.name === 'trivial')
    if (probe === undefined) throw new Error('no trivial workload')
    const sshdDir = path.join(root, 'sshd')
    await mkdir(sshdDir)
    const prepared: Prepared[] = []
    for (const name of names) {
      if (name === 'direct') {
        prepared.push({ name, variant: directVariant(ws.dir, root) })
        continue
      }
      const p = await prepareVariant({
        name,
        config,
        workspace: ws.dir,
        sshdDir,
        probe,
        log,
        onSshd: (started) => {
          sshd = started
        },
      })
      print(
        `  ${name}: ${p.unavailable === undefined ? 'ready' : `not available: ${p.unavailable}`}`,
      )
      prepared.push(p)
    }
    const missing = prepared.filter((p) => p.unavailable !== undefined)
    if (requireAll && missing.length > 0) {
      throw new Error(
        `--require-all: ${missing.map((p) => `${p.name} is not available (${p.unavailable})`).join('; ')}`,
      )
    }
    if (requireAll && !hostPhpunit) throw new Error('--require-all: phpunit is not installed here')

    // 2. Rows: every workload on every variant, with why a row cannot run.
    const rows: Row[] = []
    for (const workload of WORKLOADS) {
      for (const p of prepared) {
        const onHost = p.name !== 'docker'
        const reason =
          p.unavailable ??
          (workload.name === 'blog' && onHost && !hostPhpunit
            ? 'phpunit is not installed on this host'
            : undefined)
        rows.push({
          workload: workload.name,
          variant: p.name,
          status: reason === undefined ? 'measured' : 'not available',
          ...(reason === undefined ? {} : { reason }),
          ms: [],
          runnerMs: [],
          tests: [],
        })
      }
    }

    // 3. Rounds: warm-ups, then measured runs; in each, every row once, the first variant rotating.
    const measurable = prepared.filter((p) => p.variant !== undefined)
    for (let round = 0; round < warmup + runs; round++) {
      const measured = round >= warmup
      const order = measurable.map((_, i) => measurable[(i + round) % measurable.length])
      const parts: string[] = []
      for (const workload of WORKLOADS) {
        for (const p of order) {
          const row = rows.find((r) => r.workload === workload.name && r.variant === p?.name)
          if (p?.variant === undefined || row === undefined || row.status !== 'measured') continue
          const result = await runOnce(p.variant, workload)
          if (!result.ok) {
            row.status = 'failed'
            row.reason = `${measured ? `run ${round - warmup + 1}` : 'warm-up'}: ${result.problem}`
            parts.push(`${workload.name}/${p.name} FAILED`)
            continue
          }
          parts.push(`${workload.name}/${p.name} ${result.ms.toFixed(0)}`)
          if (!measured) continue
          row.ms.push(result.ms)
          if (result.runnerMs !== undefined) row.runnerMs.push(result.runnerMs)
          row.tests.push(result.tests)
        }
      }
      print(`  ${measured ? `run ${round - warmup + 1}` : 'warm-up'}: ${parts.join(', ')} ms`)
    }

    // 4. Every variant saw the same blog suite.
    const blogTests = new Set(rows.filter((r) => r.workload === 'blog').flatMap((r) => r.tests))
    if (blogTests.size > 1) {
      for (const row of rows.filter((r) => r.workload === 'blog' && r.status === 'measured')) {
        row.status = 'failed'
        row.reason = `the variants found different test counts: ${[...blogTests].join(', ')}`
      }
    }

    // 5. Report.
    compare(rows)
    const sandboxCost = compareSandbox(rows)
    const date = new Date().toISOString()
    const input = {
      date,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
      loadavgBefore,
      loadavg: os.loadavg(),
      runs,
      warmup,
      tools,
      rows,
    }
    const report = renderReport(input)
    print('')
    print(report)
    await writeFile(path.join(HERE, 'results.md'), report)
    await writeFile(
      path.join(HERE, 'results.json'),
      `${JSON.stringify(
        {
          ...input,
          sandboxCost,
          // The SANDBOX_* settings of both local variants; `enabled` is set per variant.
          sandbox: {
            network: config.sandbox.network,
            uid: config.sandbox.uid,
            gid: config.sandbox.gid,
            limits: config.sandbox.limits,
            readOnlyPaths: config.sandbox.readOnlyPaths,
          },
          options: { runs, warmup, runners: names, requireAll },
          workloads: WORKLOADS,
          dockerImage: config.docker.image,
        },
        null,
        2,
      )}\n`,
    )
    if (rows.some((r) => r.status === 'failed')) {
      print('A run failed or its JUnit report was missing or empty (see the table).')
      process.exitCode = 1
    }
  } finally {
    await sshd?.stop()
    await ws.cleanup()
    await rm(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** One run, checked: its wall time and tests, or what went wrong (a thrown error included). */
async function runOnce(
  variant: Variant,
  workload: Workload,
): Promise<
  | { ok: true; ms: number; runnerMs: number | undefined; tests: number }
  | { ok: false; problem: string }
> {
  try {
    const measured = await variant.run(workload)
    const checked = checkOutcome(workload, measured)
    if (!checked.ok) return checked
    return { ok: true, ms: measured.ms, runnerMs: measured.runnerMs, tests: checked.tests }
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exitCode = 1
})
