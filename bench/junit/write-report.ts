/**
 * Writes a generated report of at most `mib` MiB (and within the 200 MiB limit) to a file and
 * prints its expected counts as JSON. Run by bench/junit/run.ts in a child process, so that
 * generating hundreds of MiB of text leaves no garbage in the process that measures ack latency.
 *
 *   node --import tsx bench/junit/write-report.ts <report.xml> <mib> <workspace>
 */
import { writeFileSync } from 'node:fs'
import { generateReport } from './generate-report.js'

const LIMIT_BYTES = 200 * 2 ** 20

const [file, mibArg, workspace] = process.argv.slice(2)
if (file === undefined || mibArg === undefined || workspace === undefined) {
  throw new Error('usage: write-report.ts <report.xml> <mib> <workspace>')
}
const sample = generateReport({ cases: 10_000, workspace })
const perCase = Buffer.byteLength(sample.xml) / 10_000
let cases = Math.floor(Math.min(Number(mibArg) * 2 ** 20, LIMIT_BYTES) / perCase)
for (;;) {
  const generated = generateReport({ cases, workspace })
  const xml = Buffer.from(generated.xml)
  if (xml.length <= LIMIT_BYTES) {
    writeFileSync(file, xml)
    process.stdout.write(`${JSON.stringify(generated.expected)}\n`)
    break
  }
  cases -= 1000
}
