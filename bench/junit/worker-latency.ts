/**
 * A big report parsed by parseJUnitInWorker while a trivial HTTP server (standing in for the
 * webhook receiver) is hit every 10 ms: parse time, the process's peak RSS, and the latency of
 * the HTTP answers (p50/p99/max) during the parse, against the same requests with no parse.
 *
 *   npx tsx bench/junit/worker-latency.ts [--mib=200]
 */
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseJUnitInWorker } from '../../runner/junit/parse-junit-in-worker.js'
import { generateReport } from './generate-report.js'

const mibArg = process.argv.find((a) => a.startsWith('--mib='))?.slice(6) ?? '200'
const target = Number(mibArg) * 2 ** 20
const WORKSPACE = '/home/runner/work/app/app'

const server = createServer((_req, res) => res.end('ok'))
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as AddressInfo

function ping(): Promise<number> {
  const start = performance.now()
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.resume()
      res.on('end', () => resolve(performance.now() - start))
    })
      .on('error', reject)
      .end()
  })
}

async function sample(while_: Promise<unknown>): Promise<number[]> {
  let done = false
  void while_.finally(() => {
    done = true
  })
  const times: number[] = []
  while (!done) {
    times.push(await ping())
    await new Promise((r) => setTimeout(r, 10))
  }
  return times
}

const pct = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0
}

// 31 MiB per 100,000 cases in the generator's mix.
const cases = Math.max(1000, Math.round((target / (31.5 * 2 ** 20)) * 100_000))
const generated = generateReport({ cases, workspace: WORKSPACE })
const expected = generated.expected
// Only the bytes are kept (as a report read from disk would be), not the generator's string too.
const xml = Buffer.from(generated.xml)
generated.xml = ''
const bytes = xml.length
const baseline = await sample(new Promise((r) => setTimeout(r, 2000)))
const rssBefore = process.memoryUsage().rss
const start = performance.now()
const parsing = parseJUnitInWorker(xml, { workspace: WORKSPACE })
const during = await sample(parsing)
const result = await parsing
const ms = performance.now() - start
server.close()
if (!result.ok) throw new Error(result.error.message)
const row = {
  reportMiB: +(bytes / 2 ** 20).toFixed(1),
  cases,
  countsRight: (['tests', 'passed', 'failed', 'errored', 'skipped'] as const).every(
    (k) => result.report[k] === expected[k],
  ),
  parseMs: Math.round(ms),
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  rssBeforeParseMiB: Math.round(rssBefore / 2 ** 20),
  httpIdle: { p50: pct(baseline, 50), p99: pct(baseline, 99), n: baseline.length },
  httpDuringParse: {
    p50: pct(during, 50),
    p99: pct(during, 99),
    max: Math.max(...during),
    n: during.length,
  },
}
process.stdout.write(
  `${JSON.stringify(row, (_k, v) => (typeof v === 'number' ? +v.toFixed(1) : v))}\n`,
)
