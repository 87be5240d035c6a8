/**
 * One measured parse, run by bench/junit/run.ts in a fresh process so that the process's peak
 * RSS is this parse's own: reads the report file, parses it once, prints one JSON line.
 *
 *   node --import tsx bench/junit/parse-once.ts <report.xml> [workspace]
 */
import { readFileSync } from 'node:fs'
import { parseJUnit } from '../../runner/junit/parse-junit.js'

const [file, workspace] = process.argv.slice(2)
if (file === undefined) throw new Error('usage: parse-once.ts <report.xml> [workspace]')
const xml = readFileSync(file)
const rssBefore = process.memoryUsage().rss
const start = process.hrtime.bigint()
const result = parseJUnit(xml, workspace === undefined ? {} : { workspace })
const ms = Number(process.hrtime.bigint() - start) / 1e6
const heapAfter = process.memoryUsage().heapUsed
if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`)
const { tests, passed, failed, errored, skipped } = result.report
process.stdout.write(
  `${JSON.stringify({
    ms,
    bytes: xml.length,
    rssBeforeMiB: rssBefore / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    heapAfterMiB: heapAfter / 2 ** 20,
    counts: { tests, passed, failed, errored, skipped },
  })}\n`,
)
