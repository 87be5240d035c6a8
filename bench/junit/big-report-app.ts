/**
 * The app side of bench/junit/big-report.ts, in its own process so that its peak RSS is its own:
 * a Probot server (signature check, an empty `issues.labeled` handler) and, when the parent says
 * so, parseJUnitInWorker on a report file read into a Buffer, as DevSys's test job does. Talks to
 * the parent over the fork IPC channel:
 *   → { port }  ← 'parse'  → { ms, rssBeforeMiB, peakRssMiB, counts }  ← 'exit'
 */
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { Probot, Server } from 'probot'
import { parseJUnitInWorker } from '../../runner/junit/parse-junit-in-worker.js'

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

process.on('message', async (message) => {
  if (message === 'exit') {
    await server.stop()
    process.disconnect()
    return
  }
  if (message !== 'parse') return
  // The runner hands the report over as one Buffer read from the workspace.
  const xml = readFileSync(file)
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
