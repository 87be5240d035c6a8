import os from 'node:os'
import type { BaselinePhases } from './plain-git.js'
import type { QueuedResult } from './queued-run.js'
import type { SeededRepo } from './seed-repo.js'
import { summarize } from '../lib/summarize.js'

export interface ReportInput {
  date: string
  options: { files: number; commits: number; runs: number }
  repo: SeededRepo
  generatedFiles: number
  generatedBytes: number
  cold: { devsys: QueuedResult; baseline: BaselinePhases }
  warm: { devsys: QueuedResult[]; baseline: BaselinePhases[] }
  verified: { branches: number; ok: boolean; problems: string[] }
  quietCommand: { quietMs: number; printingMs: number }
}

/**
 * The git commands of a warm DevSys run (src/git, as of this benchmark) that print nothing, so
 * that simple-git waits its extra 50 ms after each. Read from the code; update when it changes.
 */
export const QUIET_COMMANDS = ['remote set-url']

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a')
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** Rows in report order: label, DevSys phase, baseline phase. */
const PHASES = [
  ['clone', 'clone', 'clone'],
  ['generate (DevSys) / write files (baseline)', 'generate', 'write'],
  ['commit', 'commit', 'commit'],
  ['push', 'push', 'push'],
  ['remove the clone', 'cleanup', 'cleanup'],
  ['**total**', 'total', 'total'],
] as const

/** The markdown report: warm medians side by side, cold runs, queue figures, verification. */
export function renderReport(r: ReportInput): string {
  const devsys = (key: (typeof PHASES)[number][1]) =>
    summarize(r.warm.devsys.map((run) => run.phases[key]))
  const baseline = (key: (typeof PHASES)[number][2]) =>
    summarize(r.warm.baseline.map((run) => run[key]))
  const queue = (key: 'pickup' | 'toPushed' | 'toDone') =>
    summarize(r.warm.devsys.map((run) => run[key]))
  const warmRows = PHASES.map(([label, d, b]) => {
    const ds = devsys(d)
    const bs = baseline(b)
    return `| ${label} | ${ms(ds.median)} | ${ms(ds.p90)} | ${ms(bs.median)} | ${ms(bs.p90)} | ${(ds.median / bs.median).toFixed(2)} |`
  })
  const coldRows = PHASES.map(([label, d, b]) => {
    const dc = r.cold.devsys.phases[d]
    const bc = r.cold.baseline[b]
    return `| ${label} | ${ms(dc)} | ${ms(bc)} | ${(dc / bc).toFixed(2)} |`
  })
  const queueRow = (label: string, key: 'pickup' | 'toPushed' | 'toDone') => {
    const s = queue(key)
    return `| ${label} | ${ms(s.median)} | ${ms(s.p90)} | ${ms(r.cold.devsys[key])} |`
  }
  return [
    '# Generate: queued task to pushed branch, DevSys vs plain git',
    '',
    `${r.date}, Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${os.platform()} ${os.release()}.`,
    `Manifest \`specs/create-blog.json\` (scaffold generator, ${r.generatedFiles} files, ${(r.generatedBytes / 1024).toFixed(1)} KiB). ` +
      `Remote: a local bare repository over \`file://\` with ${r.repo.files.length} files ` +
      `(${mib(r.repo.worktreeBytes)} checked out, ${mib(r.repo.bareBytes)} packed) in ${r.repo.commits} commits. ` +
      `1 cold run, then ${r.options.runs} warm runs per side, alternating which side goes first.`,
    '',
    `## Warm runs (ms, ${r.options.runs} runs)`,
    '',
    '| phase | DevSys median | DevSys p90 | plain git median | plain git p90 | DevSys / git |',
    '|---|---:|---:|---:|---:|---:|',
    ...warmRows,
    '',
    '## Cold run (ms: DevSys with no mirror yet, plain git on its first clone)',
    '',
    '| phase | DevSys | plain git | DevSys / git |',
    '|---|---:|---:|---:|',
    ...coldRows,
    '',
    '## Queue (ms: DevSys job queue on SQLite, the job does the whole generation)',
    '',
    '| from `enqueue()` to | median | p90 | cold |',
    '|---|---:|---:|---:|',
    queueRow('handler start (pickup)', 'pickup'),
    queueRow('branch pushed', 'toPushed'),
    queueRow('job recorded done', 'toDone'),
    '',
    '## Where the extra time goes',
    '',
    `A git command run through DevSys's \`openGit\` (simple-git) took ${ms(r.quietCommand.quietMs)} ms when it printed nothing ` +
      `and ${ms(r.quietCommand.printingMs)} ms when it printed (\`git check-ref-format\`, median of 10): simple-git waits ` +
      `50 ms after a command without output. ${QUIET_COMMANDS.length} of a warm run's git commands print nothing ` +
      `(${QUIET_COMMANDS.join(', ')}): about ${ms(QUIET_COMMANDS.length * (r.quietCommand.quietMs - r.quietCommand.printingMs))} ms of the DevSys total.`,
    '',
    `Verification: ${r.verified.branches} branches on the remote, ` +
      (r.verified.ok
        ? 'each one commit on main whose tree holds main plus every generated file, all with the same tree: OK.'
        : `FAILED: ${r.verified.problems.join('; ')}`),
    '',
  ].join('\n')
}
