/**
 * Deploy benchmark (issue 5, item 11): a generated site deployed with DevSys's ssh target to an
 * OpenSSH server on loopback, fully and after a one-file change, side by side with
 * `rsync -a --delete` over the same server in the same run; then the rollback switch
 * (`activate(previous)`) for sites of 2,000 and 20,000 files, on the ssh and the local target.
 *
 *   npx tsx bench/deploy/run.ts [--files=2000] [--rounds=6] [--warmup=1] [--sizes=2000,20000]
 *     [--switches=20] [--max-full=0.7] [--max-one-file=0.5] [--max-switch-ms=5] [--max-flat=1.5]
 *     [--flat-slack-ms=2] [--enforce=false] [--shell-rc] [--php=false]
 *   (or BENCH_FILES, BENCH_ROUNDS, BENCH_WARMUP, BENCH_SIZES, BENCH_SWITCHES, BENCH_MAX_FULL,
 *   BENCH_MAX_ONE_FILE, BENCH_MAX_SWITCH_MS, BENCH_MAX_FLAT, BENCH_FLAT_SLACK_MS, BENCH_ENFORCE,
 *   BENCH_SHELL_RC=1, BENCH_PHP)
 *
 * Needs OpenSSH's sshd, ssh and ssh-keygen, rsync, and git; the php target's switches also need
 * Docker and the devsys/php-apache image (reported as not measured without them). Exits
 * non-zero when a deploy fails or leaves the wrong files, and when a target is missed (unless
 * --enforce=false).
 */

import { execFile } from 'node:child_process'
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { type Sshd, startSshd } from '../../test/helpers/services.js'
import { summarize } from '../lib/summarize.js'
import { compare, type DeployRow, flatness, renderReport, type Target } from './report.js'
import { createSshPool } from '../../src/deploy/targets/ssh-pool.js'
import { measurePhpSwitches } from './php-switch.js'
import { measureRollback, type RollbackSample } from './rollback.js'
import { expectSite, runRound } from './round.js'
import { liveRelease, rsyncVersion } from './sides.js'
import { changeOneFile, freshCheckout, generateSite, gitCheckout } from './site.js'
import { intOption, numberOption, option } from '../lib/options.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))

function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

/** Why the benchmark cannot run here (a missing tool), with how to get it; null when it can. */
async function missingTools(): Promise<string | null> {
  const rsync = await rsyncVersion()
  if (!rsync.ok) return rsync.problem
  const sshd = await access('/usr/sbin/sshd').then(
    () => null,
    () => 'OpenSSH sshd is not installed: apt-get install -y openssh-server, then run again',
  )
  return sshd
}

async function version(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(cmd, args, { timeout: 10_000 })
    return (stdout.trim() || stderr.trim()).split('\n')[0] ?? ''
  } catch (error) {
    return `unavailable (${(error as { code?: string }).code ?? 'error'})`
  }
}

async function folders(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isDirectory()).length
}

async function main(): Promise<void> {
  const files = intOption('files', 2000, 10, 200_000)
  // Even, so that each side goes first in half the measured rounds: on this machine whichever
  // side deploys second in a round is slower (by up to 400 ms for the full deploy), whichever
  // it is, and an odd count would hand that to one side's median.
  const rounds = intOption('rounds', 6, 1, 100)
  const warmup = intOption('warmup', 1, 0, 10)
  const switches = intOption('switches', 20, 1, 1000)
  const maxFull = numberOption('max-full', 0.7, 0.01, 100)
  const maxOneFile = numberOption('max-one-file', 0.5, 0.01, 100)
  const maxSwitchMs = numberOption('max-switch-ms', 5, 0.01, 100_000)
  const measurePhp = !['false', '0'].includes(option('php') ?? 'true')
  const maxFlat = numberOption('max-flat', 1.5, 1, 100)
  const flatSlackMs = numberOption('flat-slack-ms', 2, 0, 10_000)
  const enforce = !['false', '0'].includes(option('enforce') ?? 'true')
  const shellRc = ['true', '1'].includes(option('shell-rc') ?? 'false')
  const sizes = (option('sizes') ?? '2000,20000').split(',').map((s) => Number(s.trim()))
  if (sizes.some((n) => !Number.isInteger(n) || n < 10 || n > 200_000)) {
    throw new Error('--sizes must be integers between 10 and 200000, separated by commas')
  }
  const missing = await missingTools()
  if (missing !== null) {
    process.stderr.write(`${missing}\n`)
    process.exitCode = 1
    return
  }
  const log = pino({ level: 'silent' })
  const root = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-deploy-'))
  let sshd: Sshd | undefined
  try {
    // 1. The server: OpenSSH on loopback with its own host key, client key and known_hosts.
    print(
      `deploy: files=${files} rounds=${rounds} warmup=${warmup} sizes=${sizes.join(',')} (in ${root})`,
    )
    const tools = {
      OpenSSH: await version('ssh', ['-V']),
      rsync: await version('rsync', ['--version']),
      git: await version('git', ['--version']),
    }
    await mkdir(path.join(root, 'sshd'))
    // Unless --shell-rc: sessions get SHLVL=1, so the login shell (Debian's bash) does not
    // source ~/.bashrc for each command. A deploy host's account usually has a short rc; a
    // developer's (pyenv, nvm) adds 100–200 ms to every exec channel on both sides of the
    // comparison, and would measure the machine rather than the deployers.
    sshd = await startSshd(path.join(root, 'sshd'), shellRc ? [] : ['SetEnv=SHLVL=1'])

    // 2. The site, the one-file change (times kept) and the same change as a fresh checkout.
    const sites = path.join(root, 'sites')
    await mkdir(sites)
    const a = await generateSite(path.join(sites, 'a'), files)
    const b = await changeOneFile(a, path.join(sites, 'b'), 'one-file change')
    const fresh = await freshCheckout(b, path.join(sites, 'b-fresh'))
    const checkouts = {
      a: await gitCheckout(a, path.join(sites, 'a-checkout')),
      b: await gitCheckout(b, path.join(sites, 'b-checkout')),
    }
    const siteFolders = await folders(a.dir)
    print(
      `  site: ${a.files} files in ${siteFolders} folders, ${(a.bytes / 2 ** 20).toFixed(1)} MiB; release ${a.id.slice(0, 12)} → ${b.id.slice(0, 12)}`,
    )

    // 3. Rounds: warm-ups, then measured ones, each on fresh folders on the server.
    // DevSys's kept connections, as a worker's target factory has them.
    const pool = createSshPool()
    const rows: DeployRow[] = [
      { deploy: 'full', side: 'devsys', runs: [] },
      { deploy: 'full', side: 'rsync', runs: [] },
      { deploy: 'one-file', side: 'devsys', runs: [] },
      { deploy: 'one-file', side: 'rsync', runs: [] },
      { deploy: 'one-file-fresh', side: 'rsync', runs: [] },
    ]
    for (let i = 0; i < warmup + rounds; i++) {
      const measured = i >= warmup
      const dir = path.join(root, 'remote', `round-${i}`)
      const result = await runRound({
        sshd,
        dir,
        a,
        b,
        fresh,
        devsysFirst: (i - warmup) % 2 === 0,
        log,
        pool,
        checkouts,
      })
      const parts: string[] = []
      for (const row of rows) {
        const run = result[row.side][row.deploy]
        if (run === undefined) continue
        parts.push(`${row.deploy}/${row.side} ${run.ms.toFixed(0)}`)
        if (measured) row.runs.push(run)
      }
      print(`  ${measured ? `round ${i - warmup + 1}` : 'warm-up'}: ${parts.join(', ')} ms`)
      // The rounds' folders stay until the run ends, so that no round pays for removing the
      // last one's 8,000 files: on a disk mounted with discard (this one) the freed blocks are
      // trimmed while the next writes go on (a 2,000-file extract measured 50 → 75 ms after).
    }
    await pool.close()
    compare(rows)

    // 4. Rollback by site size, each size's sites generated, measured and removed in turn.
    const rollback: RollbackSample[] = []
    for (const size of sizes) {
      const dir = path.join(root, `rollback-${size}`)
      const site = await generateSite(path.join(dir, 'a'), size, 2)
      const changed = await changeOneFile(site, path.join(dir, 'b'), 'rollback')
      const sample = await measureRollback({
        sshd,
        a: site,
        b: changed,
        remote: path.join(dir, 'remote'),
        switches,
        coldSwitches: Math.min(switches, 10),
        log,
      })
      // After the switches, whichever release is live must be served whole.
      const sshRoot = path.join(dir, 'remote', 'ssh')
      const live = (await liveRelease(sshRoot)) === changed.id ? changed : site
      await expectSite(path.join(sshRoot, 'current'), live, `rollback ${size}, ssh`)
      rollback.push(sample)
      print(
        `  rollback ${size} files: ssh switch ${summarize(sample.sshSwitchMs).median.toFixed(1)} ms, new target on the kept connection ${summarize(sample.sshKeptMs).median.toFixed(1)} ms, new connection ${summarize(sample.sshColdMs).median.toFixed(1)} ms, local ${summarize(sample.localSwitchMs).median.toFixed(2)} ms (deploys ${sample.sshDeployMs.full.toFixed(0)} / ${sample.sshDeployMs.oneFile.toFixed(0)} ms)`,
      )
      await rm(dir, { recursive: true, force: true })
    }

    // 5. The php target's switches (one Docker exec each), reported beside them.
    const php = measurePhp
      ? await measurePhpSwitches(a, b, switches, log)
      : { skipped: 'not measured (--php=false)' }
    print(
      `  php target: ${'ms' in php ? `switch ${summarize(php.ms).median.toFixed(1)} ms` : php.skipped}`,
    )

    // 6. Targets, report.
    const targets: Target[] = []
    for (const [deploy, limit] of [
      ['full', maxFull],
      ['one-file', maxOneFile],
    ] as const) {
      const row = rows.find((r) => r.deploy === deploy && r.side === 'devsys')
      if (row?.ratio === undefined) continue
      targets.push({
        name: `${deploy === 'full' ? 'full deploy' : 'one-file redeploy'} (DevSys median / rsync median)`,
        value: row.ratio,
        limit,
        pass: row.ratio <= limit,
      })
    }
    for (const sample of rollback) {
      const median = summarize(sample.sshKeptMs).median
      targets.push({
        name: `rollback over a kept connection at ${sample.files.toLocaleString('en-US')} files (median ms: new target, activate, close)`,
        value: median,
        limit: maxSwitchMs,
        pass: median <= maxSwitchMs,
      })
    }
    const picks = [
      ['ssh, kept connection', (s: RollbackSample) => s.sshKeptMs],
      ['ssh, connected', (s: RollbackSample) => s.sshSwitchMs],
      ['ssh, new connection', (s: RollbackSample) => s.sshColdMs],
      ['local', (s: RollbackSample) => s.localSwitchMs],
    ] as const
    for (const [label, pick] of picks) {
      const flat = flatness(rollback, pick)
      if (flat === undefined) continue
      targets.push({
        name: `rollback time flat in site size, ${label} (median at ${flat.large.files.toLocaleString('en-US')} files / at ${flat.small.files.toLocaleString('en-US')})`,
        value: flat.ratio,
        limit: maxFlat,
        // A growth of a millisecond or two is noise, whatever ratio it makes.
        pass: flat.ratio <= maxFlat || flat.growthMs <= flatSlackMs,
        note: `${flat.growthMs >= 0 ? '+' : ''}${flat.growthMs.toFixed(2)} ms${flat.ratio > maxFlat && flat.growthMs <= flatSlackMs ? ` (within the ${flatSlackMs} ms slack)` : ''}`,
      })
    }
    const input = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
      loadavg: os.loadavg(),
      tools,
      rounds,
      warmup,
      shellRc,
      site: { files: a.files, folders: siteFolders, bytes: a.bytes, changed: b.changed ?? '' },
      rows,
      rollback,
      php,
      targets,
    }
    const report = renderReport(input)
    print('')
    print(report)
    const name = shellRc ? 'results-shell-rc' : 'results'
    await writeFile(path.join(HERE, `${name}.md`), report)
    await writeFile(
      path.join(HERE, `${name}.json`),
      `${JSON.stringify({ ...input, options: { files, rounds, warmup, sizes, switches, maxFull, maxOneFile, maxSwitchMs, maxFlat, flatSlackMs, enforce, shellRc } }, null, 2)}\n`,
    )
    const missed = targets.filter((t) => !t.pass)
    if (missed.length > 0) {
      print(
        `${missed.length} target(s) missed${enforce ? '' : ' (not failing the run: --enforce=false)'}.`,
      )
      if (enforce) process.exitCode = 1
    }
  } finally {
    await sshd?.stop()
    await rm(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exitCode = 1
})
