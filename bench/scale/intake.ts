/**
 * Webhook intake, three receivers side by side in this process: a bare Probot app, DevSys
 * (DEVSYS_ROLE=receiver) on SQLite, and DevSys (DEVSYS_ROLE=receiver) on PostgreSQL with the
 * pg-boss queue; the same signed `issues.labeled` deliveries, rounds alternating the order.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Logger } from 'pino'
import { Probot, Server } from 'probot'
import { type Devsys, startDevsys } from '../../src/boot.js'
import {
  basePayload,
  checkStore,
  freePort,
  makeDeliveries,
  type StoreCheck,
} from '../webhook-intake/deliveries.js'
import { medianRound, type RoundResult, sendAll } from '../webhook-intake/load.js'

const SECRET = 'bench-webhook-secret'
const WEBHOOK_PATH = '/api/github/webhooks'

export const INTAKE_TARGETS = ['bare', 'sqlite', 'postgres'] as const
export type IntakeTarget = (typeof INTAKE_TARGETS)[number]

export interface IntakeResult {
  median: Record<IntakeTarget, RoundResult>
  rounds: Record<IntakeTarget, RoundResult[]>
  stores: Record<'sqlite' | 'postgres', StoreCheck>
}

export async function measureIntake(opts: {
  n: number
  concurrency: number
  warmup: number
  rounds: number
  privateKey: string
  databaseUrl: string
  log: Logger
}): Promise<IntakeResult> {
  const { log, privateKey } = opts
  const base = await basePayload()
  const barePort = await freePort()
  const bare = new Server({
    Probot: Probot.defaults({ appId: 1, privateKey, secret: SECRET, log }),
    port: barePort,
    host: '127.0.0.1',
    log,
  })
  await bare.load((app) => {
    app.on('issues.labeled', async () => {})
  })
  await bare.start()
  const dataDirs: string[] = []
  const receiver = async (databaseUrl?: string): Promise<Devsys> => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-intake-'))
    dataDirs.push(dataDir)
    return startDevsys({
      env: {
        APP_ID: '1',
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: SECRET,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        DEVSYS_ROLE: 'receiver',
        LOG_LEVEL: 'warn',
        STORE_SYNC: 'normal',
        ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
      },
      log,
    })
  }
  const devsys: Partial<Record<'sqlite' | 'postgres', Devsys>> = {}
  try {
    devsys.sqlite = await receiver()
    devsys.postgres = await receiver(opts.databaseUrl)
    const url = (port: number) => new URL(`http://127.0.0.1:${port}${WEBHOOK_PATH}`)
    const targets: Record<IntakeTarget, URL> = {
      bare: url(barePort),
      sqlite: url(devsys.sqlite.port),
      postgres: url(devsys.postgres.port),
    }
    const sent: Record<IntakeTarget, string[]> = { bare: [], sqlite: [], postgres: [] }
    const send = async (target: IntakeTarget, count: number) => {
      const deliveries = makeDeliveries(base, count, SECRET)
      sent[target].push(...deliveries.map((d) => d.id))
      return sendAll(targets[target], deliveries, opts.concurrency)
    }
    for (const target of INTAKE_TARGETS) await send(target, opts.warmup)
    const rounds: Record<IntakeTarget, RoundResult[]> = { bare: [], sqlite: [], postgres: [] }
    for (let round = 0; round < opts.rounds; round++) {
      // Each target goes first, second and last in turn.
      const order = INTAKE_TARGETS.map((_, i) => INTAKE_TARGETS[(i + round) % 3] as IntakeTarget)
      for (const target of order) {
        const result = await send(target, opts.n)
        rounds[target].push(result)
        process.stdout.write(
          `  round ${round + 1} ${target.padEnd(8)} p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ${result.throughput.toFixed(0)} req/s  errors ${result.errors}\n`,
        )
      }
    }
    return {
      median: {
        bare: medianRound(rounds.bare),
        sqlite: medianRound(rounds.sqlite),
        postgres: medianRound(rounds.postgres),
      },
      rounds,
      stores: {
        sqlite: await checkStore(devsys.sqlite, sent.sqlite),
        postgres: await checkStore(devsys.postgres, sent.postgres),
      },
    }
  } finally {
    await devsys.postgres?.stop()
    await devsys.sqlite?.stop()
    await bare.stop()
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true })
  }
}
