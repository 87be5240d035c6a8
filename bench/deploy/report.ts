import { type Summary, summarize } from '../lib/summarize.js'
import type { PhpSwitches } from './php-switch.js'
import type { RollbackSample } from './rollback.js'
import type { Timed } from './sides.js'
import { describeMachine } from '../lib/machine.js'

export type DeployCase = 'full' | 'one-file' | 'one-file-fresh'
export type Side = 'devsys' | 'rsync'

/** The measured runs of one deploy case on one side. */
export interface DeployRow {
  deploy: DeployCase
  side: Side
  runs: Timed[]
  summary?: Summary
  /** median / rsync's median of the same case. */
  ratio?: number
}

/** One target of issue 5, item 11, with its measured value and verdict. */
export interface Target {
  name: string
  value: number
  limit: number
  pass: boolean
  /** Why it passes although the value is over the limit, or other context. */
  note?: string
}

export interface ReportInput {
  date: string
  node: string
  cpus: number
  cpuModel: string
  loadavg: number[]
  tools: Record<string, string>
  rounds: number
  warmup: number
  /** Whether sshd's sessions ran the login user's ~/.bashrc (--shell-rc). */
  shellRc: boolean
  site: { files: number; folders: number; bytes: number; changed: string }
  rows: DeployRow[]
  rollback: RollbackSample[]
  /** The php target's switches (2,000-file site), or why they were not measured. */
  php: PhpSwitches
  targets: Target[]
}

const DEPLOY_LABEL: Record<DeployCase, string> = {
  full: 'full (empty folder)',
  'one-file': 'one file changed',
  'one-file-fresh': 'one file changed, fresh checkout (info)',
}
const SIDE_LABEL: Record<Side, string> = {
  devsys: 'DevSys ssh target',
  rsync: 'rsync -a --delete',
}

/** Fills in each row's summary and its ratio to rsync's row of the same case. */
export function compare(rows: DeployRow[]): DeployRow[] {
  for (const row of rows) row.summary = summarize(row.runs.map((r) => r.ms))
  for (const row of rows) {
    const rsync = rows.find((r) => r.deploy === row.deploy && r.side === 'rsync')
    if (row.summary !== undefined && rsync?.summary !== undefined)
      row.ratio = row.summary.median / rsync.summary.median
  }
  return rows
}

/**
 * The rollback median at the largest size against the smallest's (1.0 is perfectly flat) and
 * their difference in ms: a ratio of two sub-millisecond medians says little on its own.
 */
export function flatness(
  rollback: RollbackSample[],
  pick: (s: RollbackSample) => number[],
): { small: RollbackSample; large: RollbackSample; ratio: number; growthMs: number } | undefined {
  const sorted = [...rollback].sort((a, b) => a.files - b.files)
  const small = sorted[0]
  const large = sorted[sorted.length - 1]
  if (small === undefined || large === undefined || small === large) return undefined
  const [a, b] = [summarize(pick(small)).median, summarize(pick(large)).median]
  return { small, large, ratio: b / a, growthMs: b - a }
}

const ms = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n)
    ? '–'
    : n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })
const count = (n: number): string => (Number.isFinite(n) ? n.toLocaleString('en-US') : '–')
const mib = (bytes: number): string =>
  Number.isFinite(bytes) ? (bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1) : '–'
const median = (values: number[]): number => summarize(values).median

export function renderReport(input: ReportInput): string {
  const lines = [
    '# Deploy: DevSys’s ssh target and rsync over the same sshd',
    '',
    ...describeMachine(input),
    `Server: OpenSSH's sshd on 127.0.0.1, started by the run, ${input.shellRc ? 'sessions running the login user’s ~/.bashrc (--shell-rc)' : 'sessions with SHLVL=1 so that bash skips the login user’s ~/.bashrc (see --shell-rc)'}; the same machine's disk holds the site and the deploy folders; each timed deploy and each series of switches starts after a \`sync\` (untimed), so no run pays for the previous one's writeback.`,
    `Site: ${count(input.site.files)} files in ${count(input.site.folders)} folders, ${mib(input.site.bytes)} MiB; the one-file change rewrites \`${input.site.changed}\`. ${input.rounds} measured rounds after ${input.warmup} warm-up, each on fresh folders, alternating which side goes first (each goes first in half of them). p90 is the nearest rank.`,
    '',
    '| deploy | side | median (ms) | p90 (ms) | min–max (ms) | files sent | MiB sent | × rsync |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const row of input.rows) {
    const s = row.summary
    const last = row.runs[row.runs.length - 1]
    lines.push(
      `| ${DEPLOY_LABEL[row.deploy]} | ${SIDE_LABEL[row.side]} | ${ms(s?.median)} | ${ms(s?.p90)} | ${ms(s?.min)}–${ms(s?.max)} | ${count(last?.sent ?? Number.NaN)} | ${mib(median(row.runs.map((r) => r.bytes)))} | ${row.ratio === undefined ? '–' : `${row.ratio.toFixed(2)}×`} |`,
    )
  }
  lines.push(
    '',
    '## Rollback: `activate(previous)` by site size',
    '',
    '| files | MiB | ssh, kept connection: median (ms) | p90 (ms) | ssh, connected: median (ms) | ssh, new connection: median (ms) | local: median (ms) | ssh deploy full (ms) | ssh deploy one file (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  )
  for (const r of [...input.rollback].sort((a, b) => a.files - b.files)) {
    const kept = summarize(r.sshKeptMs)
    lines.push(
      `| ${count(r.files)} | ${mib(r.bytes)} | ${ms(kept.median)} | ${ms(kept.p90)} | ${ms(median(r.sshSwitchMs))} | ${ms(median(r.sshColdMs))} | ${ms(median(r.localSwitchMs))} | ${ms(r.sshDeployMs.full)} | ${ms(r.sshDeployMs.oneFile)} |`,
    )
  }
  const php = input.php
  lines.push(
    '',
    'php target (a devsys/php-apache container, the 2,000-file site): ' +
      ('ms' in php
        ? `switch median ${ms(summarize(php.ms).median)} ms, p90 ${ms(summarize(php.ms).p90)} ms (a request to the container's helper shell; no target).`
        : `${php.skipped}.`),
  )
  lines.push('', '## Targets (issue 16)', '')
  for (const t of input.targets) {
    lines.push(
      `- ${t.pass ? 'PASS' : 'FAIL'}: ${t.name}: ${t.value.toFixed(2)} (limit ${t.limit.toFixed(2)})${t.note === undefined ? '' : `; ${t.note}`}`,
    )
  }
  lines.push(
    '',
    '- **DevSys ssh target**: `createSshTarget` (src/deploy/targets/ssh-target.ts) on the kept connections of the run (one pool, as a DevSys worker has; the warm-up round opens it), timed from making the target to `close()`: `upload` (SFTP asks whether the release is there, where `current` points and reads the live marker; the local files are listed with their git blob ids, and only those whose blob differs from the marker’s are read and hashed; one exec channel receives the list of unchanged files, hard-linked on the host with `xargs cp -al`, then a tar of the changed ones, and renames the release into place) and `activate` (SFTP: a new link, then posix-rename over `current`). The full deploy goes to a new, empty deploy folder each round; the one-file deploy is a new release (new tree id) on top of it.',
    '- **rsync -a --delete**: `rsync -a --delete --stats -e "ssh -F /dev/null -i key -p port -o UserKnownHostsFile=…"` of the same site folder into an empty folder, then of the changed copy (made with `cp -a`, so the other files keep their modification times) into the same folder: rsync’s quick check skips them by size and time. It updates one folder in place: no release, no atomic switch, no rollback.',
    '- **fresh checkout (info)**: the changed site copied with new modification times, as a new checkout (`git archive`, a CI clone) leaves it, rsynced onto a copy of the original: every file fails the quick check, so rsync compares block checksums of all of them. DevSys hashes content and does not look at times. Not a target.',
    '- **Rollback**: two releases (the site, then one file changed) deployed over ssh and to a local target, then `activate` alternating between them; one unmeasured switch first. "kept connection": a new target on the kept connection, `activate`, `close`, as `/rollback` runs on a worker that talked to the host recently (the target); "connected": one target switching back and forth; "new connection": a new target without a kept connection (SSH handshake and SFTP session included). Every deploy and switch is checked on disk (the deployed files against the site, `current` against the release id).',
  )
  return `${lines.join('\n')}\n`
}
