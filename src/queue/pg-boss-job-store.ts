import { randomUUID } from 'node:crypto'
import pg from 'pg'
import PgBoss from 'pg-boss'
import type { Logger } from 'pino'
import { redactStore } from '../secrets/redact-store.js'
import { enqueueLanes } from './enqueue-lanes.js'
import type { JobStore } from './job-store.js'
import { BOSS_STATES, clip, isUuid, type Row, toJob, uuidV5 } from './pg-boss-rows.js'
import { pgBossSql } from './pg-boss-sql.js'
import type { Delivery, EnqueueResult, Job, JobCount, JobFilter, NewJob } from './queue.js'
import { asUnavailable, isConnectionError } from './queue-unavailable.js'

/**
 * Enqueue transactions at once per process, at most: fewer than the pool's connections (claims,
 * leases and reads need some), enough that one receiver's webhooks do not wait in line.
 */
const ENQUEUE_LANES = 4

/**
 * Enqueues per statement, at most: each is a subtransaction, and a transaction with more than 64
 * of them overflows PostgreSQL's per-backend subtransaction cache (which slows every snapshot
 * taken while it runs). A larger batch is several statements, in order.
 */
const BATCH_LIMIT = 64

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

/** One row of the enqueue function's result. */
type EnqueueRow = Row & {
  ord: number
  outcome: 'enqueued' | 'coalesced' | 'duplicate-delivery' | 'error'
  error_code: string | null
  error_message: string | null
}

interface Pending {
  job: NewJob
  delivery: Delivery | undefined
  resolve(result: EnqueueResult): void
  reject(error: unknown): void
}

/**
 * The queue's state in PostgreSQL, in pg-boss's tables (installed and migrated by pg-boss): jobs
 * are pg-boss jobs of one queue with the `singleton` policy, inserted as pg-boss's `send` inserts
 * them, by a function in the queue's schema that also records the delivery, in one transaction
 * (src/queue/pg-boss-enqueue-function.ts). Arguments are redacted of DevSys's secrets.
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
  private readonly lanes = enqueueLanes<Pending>(ENQUEUE_LANES, (batch) => this.flush(batch))

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
    await this.setUp(this.sql.setup, async () => {
      if (!(await this.boss.getQueue(this.name))) {
        // singleton: at most one active job per singleton key (a unique index), all workers.
        await this.boss.createQueue(this.name, { name: this.name, policy: 'singleton' })
      }
    })
    // The key index and the enqueue function (which reads the job table's columns).
    await this.setUp(this.sql.indexes, async () => undefined)
  }

  /** Runs setup statements, then `more`, in a transaction that one process at a time holds. */
  private async setUp(statements: string[], more: () => Promise<void>): Promise<void> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(this.sql.lockKey, [`pg-boss-setup:${this.name}`])
      for (const statement of statements) await client.query(statement)
      await more()
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

  /**
   * Group commit, as the SQLite store: enqueues of one event-loop turn share a transaction; batches
   * that share no key or delivery commit side by side on up to ENQUEUE_LANES connections.
   */
  enqueue(job: NewJob, delivery?: Delivery): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => this.lanes.add({ job, delivery, resolve, reject }))
  }

  /**
   * One statement per batch (see src/queue/pg-boss-enqueue-function.ts): one round trip and one
   * commit, each enqueue in a subtransaction of its own, so one that breaks fails alone. Should
   * the statement itself fail (a deadlock with another process's batch), each enqueue runs again
   * in a statement of its own, in order; a lost connection fails them all as the queue unavailable.
   */
  private async flush(batch: Pending[]): Promise<void> {
    const ready: { item: Pending; json: string }[] = []
    for (const item of batch) {
      try {
        ready.push({ item, json: this.itemJson(item) })
      } catch (error) {
        item.reject(error) // what JSON cannot hold: nothing was sent
      }
    }
    for (let i = 0; i < ready.length; i += BATCH_LIMIT) {
      const chunk = ready.slice(i, i + BATCH_LIMIT)
      try {
        this.settle(chunk, await this.callEnqueue(chunk.map((c) => c.json)))
        continue
      } catch (error) {
        if (chunk.length === 1 || isConnectionError(error)) {
          const reason = asUnavailable(error)
          for (const { item } of chunk) item.reject(reason)
          continue
        }
      }
      for (const one of chunk) {
        try {
          this.settle([one], await this.callEnqueue([one.json]))
        } catch (error) {
          one.item.reject(asUnavailable(error))
        }
      }
    }
  }

  /** An enqueue as the enqueue function reads it; throws for a payload JSON cannot hold. */
  private itemJson({ job, delivery }: Pending): string {
    const { now, iso } = this.stamps()
    return JSON.stringify({
      kind: job.kind,
      key: job.key,
      payload: job.payload ?? null,
      deliveryId: delivery?.id ?? null,
      event: delivery?.event ?? null,
      id: delivery ? uuidV5(delivery.id) : randomUUID(),
      at: iso,
      runAt: new Date(now + Math.max(0, job.delayMs ?? 0)).toISOString(),
      coalesceLimit: job.maxAttempts === undefined ? null : job.maxAttempts - 1,
      retryLimit: (job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS) - 1,
    })
  }

  private async callEnqueue(items: string[]): Promise<EnqueueRow[]> {
    await this.initialized
    const values = [this.name, `[${items.join(',')}]`]
    // Named: prepared once per connection, so later batches skip parsing and planning.
    const result = await this.pool.query({
      name: 'devsys-enqueue',
      text: this.sql.enqueue,
      values,
    })
    return result.rows as EnqueueRow[]
  }

  private settle(chunk: { item: Pending }[], rows: EnqueueRow[]): void {
    for (const [i, { item }] of chunk.entries()) {
      const row = rows[i]
      if (row === undefined || row.ord !== i + 1) {
        item.reject(new Error(`the enqueue function returned no result for item ${i + 1}`))
      } else if (row.outcome === 'duplicate-delivery') {
        item.resolve({ kind: 'duplicate-delivery', deliveryId: item.delivery?.id as string })
      } else if (row.outcome === 'error') {
        const error = new Error(row.error_message ?? 'enqueue failed')
        item.reject(Object.assign(error, { code: row.error_code }))
      } else {
        item.resolve({ kind: row.outcome, job: toJob(row) })
      }
    }
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
    const values = [this.name, states, filter.kind ?? null, filter.newest ?? null]
    const rows = await this.query(this.sql.list, values)
    return rows.map((r) => toJob(r))
  }

  async countJobs(): Promise<JobCount[]> {
    await this.initialized
    const { rows } = await this.pool.query<
      Omit<JobCount, 'oldestDueAt'> & { oldest_due: Date | null }
    >(this.sql.count, [this.name, new Date(this.now())])
    return rows.map(({ oldest_due, ...count }) => ({
      ...count,
      oldestDueAt: oldest_due?.toISOString() ?? null,
    }))
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
    await this.lanes.idle()
    if (this.pool.ended) return
    await this.initialized.then(
      () => this.boss.stop({ graceful: false, close: false }),
      () => undefined,
    )
    await this.pool.end()
  }
}
