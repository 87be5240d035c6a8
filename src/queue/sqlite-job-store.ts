import type { Database, Statement } from 'better-sqlite3'
import { redactStore } from '../secrets/redact-store.js'
import { iso, openSqliteDatabase, type SqliteOptions } from '../store/open-sqlite-database.js'
import type { JobStore } from './job-store.js'
import type {
  Delivery,
  EnqueueResult,
  Job,
  JobCount,
  JobFilter,
  JobState,
  NewJob,
} from './queue.js'

/** Used when neither the job nor the queue says how many attempts a job gets. */
export const DEFAULT_MAX_ATTEMPTS = 5
/** Errors are stored for people to read; a runaway stack trace must not bloat every row. */
const MAX_ERROR_CHARS = 8000

interface JobRow {
  id: number
  kind: string
  key: string
  payload: string
  state: JobState
  attempts: number
  max_attempts: number
  run_at: string
  locked_by: string | null
  locked_until: string | null
  last_error: string | null
  outcome: string | null
  delivery_id: string | null
  created_at: string
  updated_at: string
}

type Params = Record<string, string | number | null>

interface PendingEnqueue {
  job: NewJob
  delivery: Delivery | undefined
  resolve(result: EnqueueResult): void
  reject(error: unknown): void
}

type Settled = { ok: true; value: EnqueueResult } | { ok: false; error: unknown }

/**
 * Opens the in-process queue's state in DevSys's SQLite file (the store's file, on a connection
 * of its own). Every argument is redacted of DevSys's secrets before it is stored, as in the
 * store: job payloads, errors and outcomes.
 */
export function openSqliteJobStore(opts: SqliteOptions): SqliteJobStore {
  const { db, now, path } = openSqliteDatabase(opts, 'queue state')
  return redactStore(new SqliteJobStore(db, now, path))
}

/**
 * Jobs and deliveries in SQLite. Methods are async to match the port; the SQLite work inside is
 * synchronous, with statements prepared once. Job ids are the table's integer keys, as text.
 */
export class SqliteJobStore implements JobStore {
  private readonly s: {
    insertDelivery: Statement<[string, string, string]>
    hasDelivery: Statement<[string], { one: number }>
    newestQueued: Statement<[string], JobRow>
    coalesce: Statement<Params, JobRow>
    insert: Statement<Params, JobRow>
    claim: Statement<Params, JobRow>
    renew: Statement<Params>
    complete: Statement<Params>
    retry: Statement<Params>
    fail: Statement<Params>
    expired: Statement<[string], JobRow>
    recover: Statement<Params, JobRow>
    get: Statement<[number], JobRow>
    list: Statement<Params, JobRow>
    count: Statement<Params, JobCount>
  }
  private readonly pending: PendingEnqueue[] = []
  private readonly batchTx: (batch: PendingEnqueue[]) => Settled[]

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
    /** The database file, for logs and for tools that inspect it. */
    readonly path: string,
  ) {
    const owned = `id = @id AND locked_by = @worker AND state = 'running'`
    this.s = {
      insertDelivery: db.prepare(
        'INSERT INTO deliveries (id, event, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      hasDelivery: db.prepare('SELECT 1 AS one FROM deliveries WHERE id = ?'),
      // Newest: after a retry there may be two queued jobs for a key; the newer event replaces
      // the one that has not started yet, and the retried one keeps its place in line.
      newestQueued: db.prepare(
        `SELECT * FROM jobs WHERE key = ? AND state = 'queued' ORDER BY id DESC LIMIT 1`,
      ),
      coalesce: db.prepare(`UPDATE jobs SET kind = @kind, payload = @payload,
          max_attempts = coalesce(@maxAttempts, max_attempts), run_at = min(run_at, @runAt),
          delivery_id = coalesce(@deliveryId, delivery_id), updated_at = @now
        WHERE id = @id RETURNING *`),
      insert: db.prepare(`INSERT INTO jobs (kind, key, payload, state, attempts, max_attempts,
          run_at, delivery_id, created_at, updated_at)
        VALUES (@kind, @key, @payload, 'queued', 0, @maxAttempts, @runAt, @deliveryId, @now, @now)
        RETURNING *`),
      // One statement, so the pick and the update happen under one write lock even when several
      // processes share the file. Per key, jobs run in id order: a newer queued job waits for an
      // older one that is waiting out a retry delay, so an old payload never runs after a new one.
      claim: db.prepare(`UPDATE jobs SET state = 'running', attempts = attempts + 1,
          locked_by = @worker, locked_until = @until, updated_at = @now
        WHERE id = (
          SELECT j.id FROM jobs j
          WHERE j.state = 'queued' AND j.run_at <= @now
            AND (@kinds IS NULL OR j.kind IN (SELECT value FROM json_each(@kinds)))
            AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.key = j.key AND r.state = 'running')
            AND NOT EXISTS (SELECT 1 FROM jobs q
                            WHERE q.key = j.key AND q.state = 'queued' AND q.id < j.id)
          ORDER BY j.run_at, j.id LIMIT 1)
        RETURNING *`),
      renew: db.prepare(`UPDATE jobs SET locked_until = @until, updated_at = @now WHERE ${owned}`),
      // locked_by is kept on finished jobs: it says which worker ran them.
      complete: db.prepare(`UPDATE jobs SET state = 'done', outcome = @outcome,
          locked_until = NULL, updated_at = @now WHERE ${owned}`),
      retry: db.prepare(`UPDATE jobs SET state = 'queued', run_at = @runAt, last_error = @error,
          locked_by = NULL, locked_until = NULL, updated_at = @now WHERE ${owned}`),
      fail: db.prepare(`UPDATE jobs SET state = 'failed', last_error = @error,
          locked_until = NULL, updated_at = @now WHERE ${owned}`),
      expired: db.prepare(
        `SELECT * FROM jobs WHERE state = 'running' AND locked_until < ? ORDER BY id`,
      ),
      // The WHERE re-checks expiry (or that the dead owner still holds it), so of two processes
      // recovering the same job only one wins.
      recover: db.prepare(`UPDATE jobs SET
          state = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
          run_at = CASE WHEN attempts < max_attempts THEN @runAt ELSE run_at END,
          locked_by = CASE WHEN attempts < max_attempts THEN NULL ELSE locked_by END,
          locked_until = NULL, last_error = @error, updated_at = @now
        WHERE id = @id AND state = 'running' AND (locked_until < @now OR locked_by = @owner)
        RETURNING *`),
      get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
      list: db.prepare(`SELECT * FROM (SELECT * FROM jobs
          WHERE (@state IS NULL OR state = @state) AND (@kind IS NULL OR kind = @kind)
          ORDER BY CASE WHEN @newest IS NULL THEN id ELSE -id END LIMIT coalesce(@newest, -1))
        ORDER BY CASE WHEN @newest IS NULL THEN id ELSE -id END`),
      count: db.prepare(`SELECT kind, state, count(*) AS count,
          min(CASE WHEN state = 'queued' AND run_at <= @now THEN run_at END) AS oldestDueAt
        FROM jobs WHERE state != 'done' GROUP BY kind, state ORDER BY kind, state`),
    }
    // Inside the batch transaction `tx` runs as a savepoint, so one failing enqueue rolls back
    // alone while the others commit.
    const tx = db.transaction((job: NewJob, delivery?: Delivery) => this.enqueueIn(job, delivery))
    const batchTx = db.transaction((batch: PendingEnqueue[]) =>
      batch.map((item): Settled => {
        try {
          return { ok: true, value: tx(item.job, item.delivery) }
        } catch (error) {
          return { ok: false, error }
        }
      }),
    )
    // IMMEDIATE takes the write lock up front: a deferred transaction that reads first and
    // writes later can fail with SQLITE_BUSY instead of waiting when another process writes.
    this.batchTx = (batch) => batchTx.immediate(batch)
  }

  /**
   * Group commit: enqueues that arrive in the same turn of the event loop (concurrent webhooks)
   * share one transaction, so the pages they touch are written to the WAL once instead of once
   * each. Every promise resolves only after the commit, so an acknowledged webhook is stored.
   */
  enqueue(job: NewJob, delivery?: Delivery): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, delivery, resolve, reject })
      if (this.pending.length === 1) setImmediate(() => this.flush())
    })
  }

  /** Commits the enqueues waiting for the next turn of the event loop (also called on close). */
  private flush(): void {
    if (this.pending.length === 0) return
    const batch = this.pending.splice(0)
    let settled: Settled[]
    try {
      settled = this.batchTx(batch)
    } catch (error) {
      for (const item of batch) item.reject(error)
      return
    }
    batch.forEach((item, i) => {
      const result = settled[i]
      if (result?.ok) item.resolve(result.value)
      else item.reject(result?.error ?? new Error('enqueue was not run'))
    })
  }

  private enqueueIn(job: NewJob, delivery?: Delivery): EnqueueResult {
    const now = this.now()
    if (delivery) {
      const inserted = this.s.insertDelivery.run(delivery.id, delivery.event, iso(now))
      if (inserted.changes === 0) return { kind: 'duplicate-delivery', deliveryId: delivery.id }
    }
    const params = {
      kind: job.kind,
      payload: JSON.stringify(job.payload ?? null),
      maxAttempts: job.maxAttempts ?? null,
      runAt: iso(now + Math.max(0, job.delayMs ?? 0)),
      deliveryId: delivery?.id ?? null,
      now: iso(now),
    }
    const queued = this.s.newestQueued.get(job.key)
    if (queued) {
      const row = this.s.coalesce.get({ ...params, id: queued.id })
      if (row) return { kind: 'coalesced', job: toJob(row) }
    }
    const row = this.s.insert.get({
      ...params,
      key: job.key,
      maxAttempts: job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    })
    if (!row) throw new Error(`Inserting job ${job.kind} (${job.key}) returned no row`)
    return { kind: 'enqueued', job: toJob(row) }
  }

  async hasDelivery(id: string): Promise<boolean> {
    return this.s.hasDelivery.get(id) !== undefined
  }

  async claimJob(
    worker: string,
    leaseMs: number,
    kinds?: readonly string[],
  ): Promise<Job | undefined> {
    const now = this.now()
    const row = this.s.claim.get({
      worker,
      until: iso(now + leaseMs),
      now: iso(now),
      kinds: kinds === undefined ? null : JSON.stringify(kinds),
    })
    return row && toJob(row)
  }

  async renewLease(jobId: string, worker: string, leaseMs: number): Promise<boolean> {
    const id = rowId(jobId)
    if (id === undefined) return false
    const now = this.now()
    return this.s.renew.run({ id, worker, until: iso(now + leaseMs), now: iso(now) }).changes > 0
  }

  async completeJob(jobId: string, worker: string, outcome: unknown): Promise<boolean> {
    const id = rowId(jobId)
    if (id === undefined) return false
    const params = { id, worker, outcome: JSON.stringify(outcome ?? null), now: iso(this.now()) }
    return this.s.complete.run(params).changes > 0
  }

  async retryJob(jobId: string, worker: string, error: string, delayMs: number) {
    const id = rowId(jobId)
    if (id === undefined) return false
    const now = this.now()
    const params = { id, worker, error: clip(error), runAt: iso(now + delayMs), now: iso(now) }
    return this.s.retry.run(params).changes > 0
  }

  async failJob(jobId: string, worker: string, error: string): Promise<boolean> {
    const id = rowId(jobId)
    if (id === undefined) return false
    const params = { id, worker, error: clip(error), now: iso(this.now()) }
    return this.s.fail.run(params).changes > 0
  }

  async expiredJobs(): Promise<Job[]> {
    return this.s.expired.all(iso(this.now())).map(toJob)
  }

  async recoverJob(
    jobId: string,
    error: string,
    delayMs: number,
    deadOwner?: string,
  ): Promise<Job | undefined> {
    const id = rowId(jobId)
    if (id === undefined) return undefined
    const now = this.now()
    const row = this.s.recover.get({
      id,
      owner: deadOwner ?? null,
      error: clip(error),
      runAt: iso(now + delayMs),
      now: iso(now),
    })
    return row && toJob(row)
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    const id = rowId(jobId)
    const row = id === undefined ? undefined : this.s.get.get(id)
    return row && toJob(row)
  }

  async listJobs(filter: JobFilter = {}): Promise<Job[]> {
    const { state = null, kind = null, newest = null } = filter
    return this.s.list.all({ state, kind, newest }).map(toJob)
  }

  async countJobs(): Promise<JobCount[]> {
    return this.s.count.all({ now: iso(this.now()) })
  }

  /** Commits pending enqueues and closes the connection; idempotent. */
  async close(): Promise<void> {
    if (!this.db.open) return
    this.flush()
    this.db.close()
  }
}

/** The row key of a job id; undefined for ids this store never hands out. */
function rowId(jobId: string): number | undefined {
  return /^[1-9]\d{0,15}$/.test(jobId) ? Number(jobId) : undefined
}

function clip(error: string): string {
  return error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}…` : error
}

function toJob(r: JobRow): Job {
  return {
    id: String(r.id),
    kind: r.kind,
    key: r.key,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAt: r.run_at,
    lockedBy: r.locked_by,
    lockedUntil: r.locked_until,
    lastError: r.last_error,
    outcome: r.outcome === null ? null : (JSON.parse(r.outcome) as unknown),
    deliveryId: r.delivery_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}
