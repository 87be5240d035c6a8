import { randomUUID } from 'node:crypto'
import pg, { type PoolClient } from 'pg'
import PgBoss from 'pg-boss'
import type { Logger } from 'pino'
import { redactStore } from '../secrets/redact-store.js'
import type { JobStore } from './job-store.js'
import { BOSS_STATES, clip, isUuid, type Row, toJob, uuidV5 } from './pg-boss-rows.js'
import { pgBossSql } from './pg-boss-sql.js'
import type { Delivery, EnqueueResult, Job, JobFilter, NewJob } from './queue.js'
import { asUnavailable } from './queue-unavailable.js'

/** Used when neither the job nor the queue says how many attempts a job gets. */
const DEFAULT_MAX_ATTEMPTS = 5

export interface PgBossJobStoreOptions {
  /** DATABASE_URL. */
  url: string
  /** pg-boss's schema, which also holds DevSys's delivery table (default devsys_queue). */
  schema?: string
  /** The pg-boss queue every DevSys job goes to (default devsys): one queue, so a key is one key. */
  queueName?: string
  log?: Logger
  /** Milliseconds since the epoch; tests inject a clock to move leases and delays. */
  now?: () => number
  maxConnections?: number
}

interface Pending {
  job: NewJob
  delivery: Delivery | undefined
  resolve(result: EnqueueResult): void
  reject(error: unknown): void
}

/**
 * The queue's state in PostgreSQL, in pg-boss's tables (installed and migrated by pg-boss): jobs
 * are pg-boss jobs of one queue with the `singleton` policy, inserted with pg-boss's `send` in
 * the transaction that records the delivery. Arguments are redacted of DevSys's secrets.
 */
export function openPgBossJobStore(opts: PgBossJobStoreOptions): PgBossJobStore {
  return redactStore(new PgBossJobStore(opts))
}

export class PgBossJobStore implements JobStore {
  private readonly pool: pg.Pool
  private readonly boss: PgBoss
  private readonly name: string
  private readonly schema: string
  private readonly sql: ReturnType<typeof pgBossSql>
  private readonly now: () => number
  private readonly initialized: Promise<void>
  private readonly pending: Pending[] = []
  private flushing: Promise<void> = Promise.resolve()

  constructor(opts: PgBossJobStoreOptions) {
    const schema = opts.schema ?? 'devsys_queue'
    this.schema = schema
    this.name = opts.queueName ?? 'devsys'
    this.now = opts.now ?? Date.now
    this.sql = pgBossSql(schema)
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.maxConnections ?? 10,
      // Below Probot's 9 s webhook timeout (after which it answers 202 whatever happens next),
      // so a webhook whose enqueue cannot connect is answered 503, not acknowledged and lost.
      connectionTimeoutMillis: 5_000,
    })
    this.pool.on('error', (err) => opts.log?.warn({ err: err.message }, 'Queue connection lost'))
    // pg-boss runs on this pool: one set of connections, and `send` can join our transactions.
    const db = {
      executeSql: (text: string, values: unknown[] = []) => this.pool.query(text, values),
    }
    // No supervisor (its expiry would fail jobs without telling their handler: the queue's
    // recover does that) and no cron (repeating schedules are the queue's own).
    this.boss = new PgBoss({ db, schema, supervise: false, schedule: false, migrate: true })
    this.boss.on('error', (err) => opts.log?.error({ err }, 'pg-boss error'))
    this.initialized = this.init().then(() =>
      opts.log?.info(
        { schema, queue: this.name },
        'the job queue is pg-boss in the DATABASE_URL database, shared by every DevSys process on it',
      ),
    )
    this.initialized.catch(() => undefined) // reported by whichever call awaits it
  }

  /**
   * Resolves once pg-boss has installed or migrated its schema and DevSys's queue exists in it;
   * rejects, saying what to check, when it could not (boot fails then, not the first enqueue).
   */
  async ready(): Promise<void> {
    try {
      await this.initialized
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      throw new Error(
        `The job queue (pg-boss) could not set up its schema ${this.schema} in the DATABASE_URL database: ${message}. Check that the DATABASE_URL user may create schemas there (GRANT CREATE ON DATABASE <name> TO <user>) or that ${this.schema} already exists and belongs to it.`,
        { cause: error },
      )
    }
  }

  private async init(): Promise<void> {
    await this.boss.start()
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(this.sql.lockKey, [`pg-boss-setup:${this.name}`])
      for (const statement of this.sql.setup) await client.query(statement)
      if (!(await this.boss.getQueue(this.name))) {
        // singleton: at most one active job per singleton key (a unique index), all workers.
        await this.boss.createQueue(this.name, { name: this.name, policy: 'singleton' })
      }
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }

  private async query(text: string, values: unknown[]): Promise<Row[]> {
    await this.initialized
    return (await this.pool.query(text, values)).rows as Row[]
  }

  private stamps() {
    const now = this.now()
    return { now, iso: new Date(now).toISOString() }
  }

  /** Group commit, as the SQLite store: enqueues of one event-loop turn share a transaction. */
  enqueue(job: NewJob, delivery?: Delivery): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, delivery, resolve, reject })
      if (this.pending.length > 1) return
      // Chained: one batch commits before the next starts, so enqueues keep their order.
      this.flushing = this.flushing
        .then(() => new Promise<void>((r) => setImmediate(r)))
        .then(() => this.flush())
    })
  }

  private async flush(): Promise<void> {
    const batch = this.pending.splice(0)
    if (batch.length === 0) return
    const settled: (() => void)[] = []
    let client: PoolClient | undefined
    try {
      await this.initialized
      client = await this.pool.connect()
      await client.query('BEGIN')
      for (const item of batch) {
        await client.query('SAVEPOINT enqueue')
        try {
          const result = await this.enqueueIn(client, item.job, item.delivery)
          await client.query('RELEASE SAVEPOINT enqueue')
          settled.push(() => item.resolve(result))
        } catch (error) {
          await client.query('ROLLBACK TO SAVEPOINT enqueue')
          settled.push(() => item.reject(error))
        }
      }
      await client.query('COMMIT')
      for (const settle of settled) settle()
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined)
      // Nothing of the batch is stored; a lost connection is reported as the queue unavailable.
      const reason = asUnavailable(error)
      for (const item of batch) item.reject(reason)
    } finally {
      client?.release()
    }
  }

  private async enqueueIn(c: PoolClient, job: NewJob, delivery?: Delivery): Promise<EnqueueResult> {
    const { now, iso } = this.stamps()
    const payload = JSON.stringify(job.payload ?? null) // throws here for what JSON cannot hold
    if (delivery) {
      const inserted = await c.query(this.sql.insertDelivery, [delivery.id, delivery.event, iso])
      if (inserted.rowCount === 0) return { kind: 'duplicate-delivery', deliveryId: delivery.id }
    }
    const runAt = new Date(now + Math.max(0, job.delayMs ?? 0)).toISOString()
    const deliveryId = delivery?.id ?? null
    await c.query(this.sql.lockKey, [`${this.name}:${job.key}`])
    const queued = (await c.query(this.sql.newestQueued, [this.name, job.key])).rows[0] as
      | { id: string }
      | undefined
    if (queued) {
      const limit = job.maxAttempts === undefined ? null : job.maxAttempts - 1
      const values = [this.name, queued.id, job.kind, payload, deliveryId, iso, limit, runAt]
      const row = (await c.query(this.sql.coalesce, values)).rows[0] as Row | undefined
      if (row) {
        if (delivery) await c.query(this.sql.setDeliveryJob, [delivery.id, row.id])
        return { kind: 'coalesced', job: toJob(row) }
      }
    }
    const seq = Number((await c.query(this.sql.nextSeq)).rows[0].seq)
    const id = delivery ? uuidV5(delivery.id) : randomUUID()
    const data = { kind: job.kind, payload: JSON.parse(payload), seq, deliveryId, updatedAt: iso }
    const sent = await this.boss.send(this.name, data, {
      id,
      singletonKey: job.key,
      startAfter: runAt,
      retryLimit: (job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS) - 1,
      // Retries are timed by the queue (backoff in ms); these matter only to pg-boss's own tools.
      retryDelay: 1,
      retryBackoff: true,
      db: { executeSql: (text, values) => c.query(text, values) },
    })
    if (sent === null) throw new Error(`pg-boss did not insert job ${id} (${job.kind}, ${job.key})`)
    if (delivery) await c.query(this.sql.setDeliveryJob, [delivery.id, sent])
    const row = (await c.query(this.sql.stamp, [this.name, sent, iso])).rows[0] as Row
    return { kind: 'enqueued', job: toJob(row) }
  }

  async hasDelivery(id: string): Promise<boolean> {
    return (await this.query(this.sql.hasDelivery, [id])).length > 0
  }

  async claimJob(
    worker: string,
    leaseMs: number,
    kinds?: readonly string[],
  ): Promise<Job | undefined> {
    const { iso } = this.stamps()
    const only = kinds === undefined ? null : [...kinds]
    try {
      const [row] = await this.query(this.sql.claim, [this.name, iso, leaseMs, worker, iso, only])
      return row && toJob(row)
    } catch (error) {
      // Two claims raced for one key: the singleton index let one win; the other claims later.
      if ((error as { code?: string }).code === '23505') return undefined
      throw error
    }
  }

  private async owned(sql: string, jobId: string, worker: string, more: unknown[]) {
    if (!isUuid(jobId)) return false
    await this.initialized
    return ((await this.pool.query(sql, [this.name, jobId, worker, ...more])).rowCount ?? 0) > 0
  }

  async renewLease(jobId: string, worker: string, leaseMs: number): Promise<boolean> {
    const { iso } = this.stamps()
    return this.owned(this.sql.renew, jobId, worker, [iso, leaseMs, iso])
  }

  async completeJob(jobId: string, worker: string, outcome: unknown): Promise<boolean> {
    const { iso } = this.stamps()
    return this.owned(this.sql.complete, jobId, worker, [iso, JSON.stringify(outcome ?? null), iso])
  }

  async retryJob(jobId: string, worker: string, error: string, delayMs: number) {
    const { now, iso } = this.stamps()
    const runAt = new Date(now + delayMs).toISOString()
    return this.owned(this.sql.retry, jobId, worker, [runAt, clip(error), iso])
  }

  async failJob(jobId: string, worker: string, error: string): Promise<boolean> {
    const { iso } = this.stamps()
    return this.owned(this.sql.fail, jobId, worker, [iso, clip(error), iso])
  }

  async expiredJobs(): Promise<Job[]> {
    const { iso } = this.stamps()
    return (await this.query(this.sql.expired, [this.name, iso])).map((r) => toJob(r))
  }

  async recoverJob(jobId: string, error: string, delayMs: number, deadOwner?: string) {
    if (!isUuid(jobId)) return undefined
    const { now, iso } = this.stamps()
    const runAt = new Date(now + delayMs).toISOString()
    const values = [this.name, jobId, iso, deadOwner ?? null, runAt, clip(error), iso]
    const [row] = await this.query(this.sql.recover, values)
    return row && toJob(row)
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    if (!isUuid(jobId)) return undefined
    const [row] = await this.query(this.sql.get, [this.name, jobId])
    return row && toJob(row)
  }

  async listJobs(filter: JobFilter = {}): Promise<Job[]> {
    const states = filter.state === undefined ? null : BOSS_STATES[filter.state].join(',')
    const rows = await this.query(this.sql.list, [this.name, states, filter.kind ?? null])
    return rows.map((r) => toJob(r))
  }

  /** Moves finished jobs to pg-boss's archive and drops old archived ones (pg-boss retention). */
  async maintain(): Promise<void> {
    await this.initialized
    await this.boss.archive()
    // pg-boss 10 has drop() (types.d.ts still calls it purge()).
    await (this.boss as unknown as { drop(): Promise<void> }).drop()
  }

  /** Commits pending enqueues, then closes pg-boss and the pool; idempotent. */
  async close(): Promise<void> {
    await this.flushing
    await this.flush()
    if (this.pool.ended) return
    await this.initialized.then(
      () => this.boss.stop({ graceful: false, close: false }),
      () => undefined,
    )
    await this.pool.end()
  }
}
