/**
 * The app side of bench/junit/big-report.ts, in its own process so that its peak RSS is its own:
 * a Probot server (signature check, an empty `issues.labeled` handler) and, when the parent says
 * so, parseJUnitInWorker on a report file read as the local runner reads it, as DevSys's test job does. Talks to
 * the parent over the fork IPC channel:
 *   → { port }  ← 'parse'  → { ms, rssBeforeMiB, peakRssMiB, counts }  ← 'exit'
 */
import { generateKeyPairSync } from 'node:crypto'
import path from 'node:path'
import { pino } from 'pino'
import { Probot, Server } from 'probot'
import { DEFAULT_MAX_BYTES as LIMIT } from '../../runner/junit/parse-junit.js'
import { parseJUnitInWorker } from '../../runner/junit/parse-junit-in-worker.js'
import { readLocalReport } from '../../runner/local/read-report.js'

const [file, workspace, secret, port] = process.argv.slice(2)
if (file === undefined || workspace === undefined || secret === undefined || port === undefined) {
  throw new Error('usage: big-report-app.ts <report.xml> <workspace> <secret> <port>')
}
const send = (message: unknown): void => {
  process.send?.(message)
}

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
})
const log = pino({ level: 'warn' })
const server = new Server({
  Probot: Probot.defaults({ appId: 1, privateKey, secret, log }),
  port: Number(port),
  host: '127.0.0.1',
  log,
})
await server.load((app) => {
  app.on('issues.labeled', async () => {})
})
await server.start()

// The parent gone (finished or crashed), nothing is left to serve.
process.once('disconnect', () => process.exit(0))
process.on('message', async (message) => {
  if (message === 'exit') {
    await server.stop()
    process.disconnect()
    return
  }
  if (message !== 'parse') return
  // Read as the local runner reads a run's report, handed over as one Buffer.
  const read = await readLocalReport(path.dirname(file), path.basename(file), LIMIT, log)
  if (read.kind !== 'found') throw new Error(`the report was not read: ${read.kind}`)
  const xml = read.xml
  const rssBefore = process.memoryUsage().rss
  const start = performance.now()
  const result = await parseJUnitInWorker(xml, { workspace })
  const ms = performance.now() - start
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`)
  const { tests, passed, failed, errored, skipped } = result.report
  send({
    ms,
    rssBeforeMiB: rssBefore / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    counts: { tests, passed, failed, errored, skipped },
  })
})
send({ port: Number(port) })
