/**
 * Webhook intake benchmark: a bare Probot app vs DevSys, both on loopback in this process, each
 * receiving the same signed `issues.labeled` deliveries at a fixed concurrency.
 *
 *   npx tsx bench/webhook-intake/run.ts [--n=2000] [--concurrency=16] [--warmup=1000] [--rounds=3]
 *   (or BENCH_N, BENCH_CONCURRENCY, BENCH_WARMUP, BENCH_ROUNDS)
 *
 * DevSys runs with DEVSYS_ROLE=receiver, so every delivery is stored as a job but none runs
 * (GitHub is unreachable). Afterwards the store must hold exactly one job per delivery.
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { Probot, Server } from 'probot'
import { startDevsys } from '../../src/boot.js'
import { basePayload, checkStore, freePort, makeDeliveries, type StoreCheck } from './deliveries.js'
import { medianRound, type RoundResult, sendAll } from './load.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const SECRET = 'bench-webhook-secret'
const APP_ID = 1
const WEBHOOK_PATH = '/api/github/webhooks'

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  const raw = arg?.slice(name.length + 3) ?? process.env[`BENCH_${name.toUpperCase()}`]
  const value = raw === undefined ? fallback : Number(raw)
  if (!Number.isInteger(value) || value < 0 || value > 1_000_000) {
    throw new Error(`--${name} must be an integer between 0 and 1000000, got ${raw}`)
  }
  return value
}

function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')

async function main(): Promise<void> {
  const n = option('n', 2000)
  const concurrency = Math.max(1, option('concurrency', 16))
  const warmup = option('warmup', 1000)
  const rounds = Math.max(1, option('rounds', 3))
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const log = pino({ level: 'warn' })
  const base = await basePayload()

  // 1. Bare Probot: verifies the signature, runs an empty handler.
  const barePort = await freePort()
  const bare = new Server({
    Probot: Probot.defaults({ appId: APP_ID, privateKey, secret: SECRET, log }),
    port: barePort,
    host: '127.0.0.1',
    log,
  })
  await bare.load((app) => {
    app.on('issues.labeled', async () => {})
  })
  await bare.start()

  // 2. DevSys: the same, plus the trigger decision and the delivery + job written to SQLite
  //    (group-committed with concurrent deliveries). STORE_SYNC=full measures fsync per commit.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-'))
  const devsys = await startDevsys({
    env: {
      APP_ID: String(APP_ID),
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: SECRET,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DEVSYS_ROLE: 'receiver',
      LOG_LEVEL: 'warn',
      STORE_SYNC: process.env.STORE_SYNC ?? 'normal',
    },
    log,
  })
  const targets = {
    bare: new URL(`http://127.0.0.1:${barePort}${WEBHOOK_PATH}`),
    devsys: new URL(`http://127.0.0.1:${devsys.port}${WEBHOOK_PATH}`),
  }
  const sentToDevsys: string[] = []
  try {
    // 3. Warm both up, then alternate rounds so neither always runs first.
    print(`webhook intake: n=${n} concurrency=${concurrency} warmup=${warmup} rounds=${rounds}`)
    for (const name of ['bare', 'devsys'] as const) {
      const deliveries = makeDeliveries(base, warmup, SECRET)
      if (name === 'devsys') sentToDevsys.push(...deliveries.map((d) => d.id))
      await sendAll(targets[name], deliveries, concurrency)
    }
    const results: Record<'bare' | 'devsys', RoundResult[]> = { bare: [], devsys: [] }
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['bare', 'devsys'] as const) : (['devsys', 'bare'] as const)
      for (const name of order) {
        const deliveries = makeDeliveries(base, n, SECRET)
        if (name === 'devsys') sentToDevsys.push(...deliveries.map((d) => d.id))
        const result = await sendAll(targets[name], deliveries, concurrency)
        results[name].push(result)
        print(
          `  round ${round + 1} ${name.padEnd(6)} p50 ${fmt(result.p50Ms)} ms  p99 ${fmt(result.p99Ms)} ms  ${fmt(result.throughput, 0)} req/s  errors ${result.errors}`,
        )
      }
    }

    // 4. Every delivery DevSys acknowledged must be exactly one stored job.
    const store = await checkStore(devsys, sentToDevsys)

    // 5. Report.
    const bareMedian = medianRound(results.bare)
    const devsysMedian = medianRound(results.devsys)
    const report = renderReport({ n, concurrency, warmup, rounds }, bareMedian, devsysMedian, store)
    print('')
    print(report)
    await writeFile(path.join(HERE, 'results.md'), report)
    await writeFile(
      path.join(HERE, 'results.json'),
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          cpus: os.cpus().length,
          options: { n, concurrency, warmup, rounds },
          median: { bare: bareMedian, devsys: devsysMedian },
          rounds: results,
          store,
        },
        null,
        2,
      )}\n`,
    )
    if (!store.exactlyOnePerDelivery || bareMedian.errors + devsysMedian.errors > 0) {
      process.exitCode = 1
    }
  } finally {
    await devsys.stop()
    await bare.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

function renderReport(
  options: { n: number; concurrency: number; warmup: number; rounds: number },
  bare: RoundResult,
  devsys: RoundResult,
  store: StoreCheck,
): string {
  const row = (label: string, b: number, d: number, digits: number): string =>
    `| ${label} | ${fmt(b, digits)} | ${fmt(d, digits)} | ${fmt(d / b)} |`
  return [
    '# Webhook intake: bare Probot vs DevSys',
    '',
    `${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} CPUs, loopback HTTP/1.1 keep-alive, DevSys STORE_SYNC=${process.env.STORE_SYNC ?? 'normal'}.`,
    `${options.n} signed \`issues.labeled\` deliveries per round, ${options.concurrency} in flight, ` +
      `${options.warmup} warm-up deliveries each, ${options.rounds} alternating rounds; median round shown.`,
    '',
    '| metric | bare Probot | DevSys | DevSys / bare |',
    '|---|---:|---:|---:|',
    row('ack latency p50 (ms)', bare.p50Ms, devsys.p50Ms, 2),
    row('ack latency p99 (ms)', bare.p99Ms, devsys.p99Ms, 2),
    row('throughput (req/s)', bare.throughput, devsys.throughput, 0),
    `| errors (all rounds) | ${bare.errors} | ${devsys.errors} | |`,
    '',
    `DevSys store after the run: ${store.deliveriesSent} deliveries sent, ${store.deliveriesRecorded} recorded, ` +
      `${store.jobs} jobs (${store.jobsQueued} queued), ${store.missing} missing, ${store.duplicated} duplicated: ` +
      `${store.exactlyOnePerDelivery ? 'exactly one job per delivery' : 'NOT one job per delivery'}.`,
    '',
  ].join('\n')
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exitCode = 1
})
