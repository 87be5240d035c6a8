/**
 * `npm run bench:all`: runs every DevSys benchmark one after another, each against its baseline
 * in the same run. A benchmark that misses its target (or fails) does not stop the others: they
 * all run, and the exit code is non-zero at the end if any of them failed.
 */
import { spawnSync } from 'node:child_process'

const BENCHMARKS = [
  'bench',
  'bench:scale',
  'bench:generate',
  'bench:junit',
  'bench:runners',
  'bench:deploy',
  'bench:agent',
] as const

const results: Array<{ name: string; status: number | null; seconds: number }> = []
for (const name of BENCHMARKS) {
  const started = Date.now()
  // argv, not a shell string; output streams straight through.
  const run = spawnSync('npm', ['run', '--silent', name], { stdio: 'inherit' })
  results.push({ name, status: run.status, seconds: Math.round((Date.now() - started) / 1000) })
}

process.stdout.write('\n| benchmark | result | seconds |\n| --- | --- | ---: |\n')
for (const r of results) {
  const result = r.status === 0 ? 'ok' : `failed (exit ${r.status ?? 'signal'})`
  process.stdout.write(`| \`npm run ${r.name}\` | ${result} | ${r.seconds} |\n`)
}
process.exitCode = results.every((r) => r.status === 0) ? 0 : 1
