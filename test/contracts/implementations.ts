/**
 * Every implementation of every port, for the contract suites in this folder: each suite is
 * written once and runs against each entry here. A new implementation is one entry.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterEach, beforeEach } from 'vitest'
import {
  createInProcessQueue,
  type InProcessQueueOptions,
} from '../../src/queue/in-process-queue.js'
import type { JobStore } from '../../src/queue/job-store.js'
import { openPgBossJobStore } from '../../src/queue/pg-boss-job-store.js'
import { createPgBossQueue } from '../../src/queue/pg-boss-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import type { JobHandler } from '../../src/queue/types.js'
import { openPostgresStore } from '../../src/store/postgres-store.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { createTestDatabase, requirePostgres } from '../helpers/postgres.js'
import { inProcessTimings } from '../queue/queue-fixture.js'
import { tempDir } from '../store/support.js'
import { start } from './fixtures.js'

/** One opened store; `reopen` closes it and opens the same data again (durability checks). */
export interface StoreHandle {
  store: Store
  /** Runs SQL on the store's database over a connection of its own, as an intruder would. */
  sql(statement: string): Promise<Record<string, unknown>[]>
  reopen(): Promise<Store>
  close(): Promise<void>
}

export interface StoreImplementation {
  name: string
  /** A fresh, empty store whose clock is `now`. */
  open(now?: () => number): Promise<StoreHandle>
}

/** A store a suite tests, opened fresh before each test: `now` is its clock, which tests move. */
export interface OpenedStore<S> {
  store: S
  handle: StoreHandle
  now: number
}

/**
 * Opens a fresh, empty store of `impl` before each test, its clock at `startAt`, and closes it
 * after; `S` is the part of the store the suite is about.
 */
export function useStore<S = Store>(impl: StoreImplementation, startAt = start): OpenedStore<S> {
  const opened = { now: startAt } as OpenedStore<S>
  beforeEach(async () => {
    opened.now = startAt
    opened.handle = await impl.open(() => opened.now)
    opened.store = opened.handle.store as S
  })
  afterEach(async () => {
    await opened.handle.close()
  })
  return opened
}

export const storeImplementations: StoreImplementation[] = [
  {
    name: 'SQLite',
    async open(now) {
      const tmp = tempDir()
      const open = () => openSqliteStore({ dataDir: tmp.dir, ...(now ? { now } : {}) })
      const handle: StoreHandle = {
        store: open(),
        async sql(statement) {
          const db = new Database(join(tmp.dir, 'devsys.sqlite'))
          try {
            const prepared = db.prepare(statement)
            if (prepared.reader) return prepared.all() as Record<string, unknown>[]
            prepared.run()
            return []
          } finally {
            db.close()
          }
        },
        async reopen() {
          await handle.store.close()
          handle.store = open()
          return handle.store
        },
        async close() {
          await handle.store.close()
          tmp.remove()
        },
      }
      return handle
    },
  },
  // A real PostgreSQL server; each open gets its own database, dropped at close.
  ...((await requirePostgres('runs the store contract suites against the PostgreSQL store'))
    ? [
        {
          name: 'PostgreSQL',
          async open(now?: () => number) {
            const database = await createTestDatabase()
            const open = () => openPostgresStore({ url: database.url, ...(now ? { now } : {}) })
            const handle: StoreHandle = {
              store: await open().catch(async (error: unknown) => {
                await database.drop()
                throw error
              }),
              async sql(statement) {
                const client = new pg.Client({ connectionString: database.url })
                await client.connect()
                try {
                  return (await client.query(statement)).rows as Record<string, unknown>[]
                } finally {
                  await client.end()
                }
              },
              async reopen() {
                await handle.store.close()
                handle.store = await open()
                return handle.store
              },
              async close() {
                await handle.store.close()
                await database.drop()
              },
            }
            return handle
          },
        },
      ]
    : []),
]

/** The in-process queue's state. `other` opens a second client of the same state. */
export interface JobStoreHandle {
  jobs: JobStore
  other(now?: () => number): JobStore
  close(): Promise<void>
}

export interface JobStoreImplementation {
  name: string
  open(now?: () => number): Promise<JobStoreHandle>
}

export const jobStoreImplementations: JobStoreImplementation[] = [
  {
    name: 'SQLite',
    async open(now) {
      const tmp = tempDir()
      const others: JobStore[] = []
      const jobs = openSqliteJobStore({ dataDir: tmp.dir, ...(now ? { now } : {}) })
      return {
        jobs,
        other(otherNow) {
          const other = openSqliteJobStore({
            dataDir: tmp.dir,
            ...(otherNow ? { now: otherNow } : {}),
          })
          others.push(other)
          return other
        },
        async close() {
          for (const other of others) await other.close()
          await jobs.close()
          tmp.remove()
        },
      }
    },
  },
  // pg-boss's tables in a fresh PostgreSQL database per open.
  ...((await requirePostgres('runs the job store contract against the pg-boss job store'))
    ? [
        {
          name: 'pg-boss',
          async open(now?: () => number) {
            const database = await createTestDatabase()
            const open = (clock?: () => number) =>
              openPgBossJobStore({ url: database.url, ...(clock ? { now: clock } : {}) })
            const jobs = open(now)
            const others: JobStore[] = []
            return {
              jobs,
              other(otherNow?: () => number) {
                const other = open(otherNow)
                others.push(other)
                return other
              },
              async close() {
                for (const other of others) await other.close()
                await jobs.close()
                await database.drop()
              },
            }
          },
        },
      ]
    : []),
]

/** Options a queue contract may set; each implementation maps them to its own settings. */
export interface QueueSettings {
  /** Jobs run at once by this queue. */
  concurrency?: number
  /** Attempts for jobs enqueued without their own maxAttempts. */
  maxAttempts?: number
  /** Milliseconds since the epoch, for schedule slots. */
  now?: () => number
  /** Claim only the handlers' kinds, leaving the others queued for other workers. */
  ownKindsOnly?: boolean
}

/**
 * Queues over one shared queue state (as several DevSys processes on one database): `make`
 * builds another queue (another process) over it. Every queue is closed by `close`.
 */
export interface QueueHandle {
  make(handlers: JobHandler[], settings?: QueueSettings): Queue
  close(): Promise<void>
}

export interface QueueImplementation {
  name: string
  open(): Promise<QueueHandle>
}

export const queueImplementations: QueueImplementation[] = [
  {
    name: 'in-process',
    async open() {
      const tmp = tempDir('devsys-queue-')
      const queues: Queue[] = []
      return {
        make(handlers, settings = {}) {
          const opts: InProcessQueueOptions = {
            jobs: openSqliteJobStore({ dataDir: tmp.dir }),
            ...inProcessTimings(),
            handlers,
            ...settings,
          }
          const queue = createInProcessQueue(opts)
          queues.push(queue)
          return queue
        },
        async close() {
          for (const queue of queues) await queue.close()
          tmp.remove()
        },
      }
    },
  },
  // Every queue `make` builds is another process on one fresh PostgreSQL database.
  ...((await requirePostgres('runs the queue contract against the pg-boss queue'))
    ? [
        {
          name: 'pg-boss',
          async open(): Promise<QueueHandle> {
            const database = await createTestDatabase()
            const queues: Queue[] = []
            return {
              make(handlers, settings = {}) {
                const queue = createPgBossQueue({
                  url: database.url,
                  ...inProcessTimings(),
                  handlers,
                  ...settings,
                })
                queues.push(queue)
                return queue
              },
              async close() {
                for (const queue of queues) await queue.close()
                await database.drop()
              },
            }
          },
        },
      ]
    : []),
]
