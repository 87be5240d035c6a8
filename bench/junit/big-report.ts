/**
 * The big-report measurement of bench/junit/run.ts: a report near the 200 MiB limit parsed by
 * parseJUnitInWorker inside an app process (bench/junit/big-report-app.ts: a Probot server) while
 * this process sends it signed webhook deliveries at a fixed rate, open loop (one every
 * `intervalMs`, whether or not earlier ones were answered, so a stalled event loop shows as the
 * delay of every delivery sent meanwhile). Ack latency during the parse is compared with the same
 * load on the idle app just before.
 */
import { fork } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import http from 'node:http'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { labeledIssueExample } from '../webhook-intake/deliveries.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const SECRET = 'bench-junit-secret'

export interface Latency {
  n: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

export interface BigReportResult {
  parseMs: number
  rssBeforeMiB: number
  /** The app process's peak RSS (`process.resourceUsage().maxRSS`): main thread and worker. */
  peakRssMiB: number
  counts: Record<string, number>
  idle: Latency
  duringParse: Latency
}

interface Parsed {
  ms: number
  rssBeforeMiB: number
  peakRssMiB: number
  counts: Record<string, number>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** The official `issues.labeled` example, as one body to sign per delivery. */
async function examplePayload(): Promise<string> {
  return JSON.stringify({ ...(await labeledIssueExample()), installation: { id: 1234 } })
}

function deliver(agent: http.Agent, port: number, body: string): Promise<number> {
  const id = randomUUID()
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/api/github/webhooks',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-github-event': 'issues',
          'x-github-delivery': id,
          'x-hub-signature-256': signature,
        },
      },
      (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`delivery answered ${res.statusCode}`))
          else resolve(Number(process.hrtime.bigint() - start) / 1e6)
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Sends a delivery every `intervalMs` until `until` settles; the ack latencies. */
async function load(
  port: number,
  body: string,
  intervalMs: number,
  until: Promise<unknown>,
): Promise<Latency> {
  // A connection per delivery, as GitHub opens them (and no keep-alive race with the server).
  const agent = new http.Agent({ keepAlive: false, maxSockets: 256 })
  const acks: Promise<number | Error>[] = []
  let done = false
  void until.finally(() => {
    done = true
  })
  while (!done) {
    acks.push(deliver(agent, port, body).catch((error: Error) => error))
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  const answers = await Promise.all(acks)
  agent.destroy()
  const failed = answers.find((a) => a instanceof Error)
  if (failed) throw new Error(`a webhook delivery failed: ${failed.message}`)
  const ms = (answers as number[]).sort((a, b) => a - b)
  const at = (q: number): number => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)] ?? 0
  return { n: ms.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: ms[ms.length - 1] ?? 0 }
}

/** Parses `file` in a fresh app process under webhook load; see the module comment. */
export async function measureBigReport(opts: {
  file: string
  workspace: string
  idleSeconds: number
  intervalMs: number
}): Promise<BigReportResult> {
  const body = await examplePayload()
  const port = await freePort()
  const app = fork(
    path.join(HERE, 'big-report-app.ts'),
    [opts.file, opts.workspace, SECRET, String(port)],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  )
  const exited = new Promise<never>((_resolve, reject) =>
    app.once('exit', (code) => reject(new Error(`the app process exited with code ${code}`))),
  )
  const next = <T>(): Promise<T> =>
    Promise.race([new Promise<T>((resolve) => app.once('message', (m) => resolve(m as T))), exited])
  try {
    await next<{ port: number }>()
    // The first deliveries warm up Probot's handler and the connection pool, unmeasured.
    await load(port, body, opts.intervalMs, new Promise((r) => setTimeout(r, 1000)))
    const idle = await load(
      port,
      body,
      opts.intervalMs,
      new Promise((r) => setTimeout(r, opts.idleSeconds * 1000)),
    )
    const parsed = next<Parsed>()
    app.send('parse')
    const duringParse = await load(port, body, opts.intervalMs, parsed)
    const result = await parsed
    app.send('exit')
    return {
      parseMs: result.ms,
      rssBeforeMiB: result.rssBeforeMiB,
      peakRssMiB: result.peakRssMiB,
      counts: result.counts,
      idle,
      duringParse,
    }
  } finally {
    if (app.exitCode === null) {
      await new Promise((resolve) => {
        app.once('exit', resolve)
        setTimeout(() => app.kill(), 5000).unref()
      })
    }
    exited.catch(() => {})
  }
}
