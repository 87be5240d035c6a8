import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database, { type Database as Db } from 'better-sqlite3'
import type { Logger } from 'pino'
import { migrate } from './sqlite-migrate.js'

export interface SqliteOptions {
  /** Created (mode 0700) if missing: it holds tokens' owners, manifests and audit records. */
  dataDir: string
  /** Default `devsys.sqlite`. */
  fileName?: string
  log?: Logger
  /** Milliseconds since the epoch; tests inject a clock to move leases and delays. */
  now?: () => number
  /** How long a write waits for another process's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number
  /** SQLite `synchronous` setting (default FULL here; DevSys passes STORE_SYNC, normal by default). */
  synchronous?: 'FULL' | 'NORMAL'
}

/**
 * Opens (creating and migrating as needed) DevSys's SQLite file in WAL mode, for the store and
 * for the queue's state: each opens its own connection, as separate processes would.
 */
export function openSqliteDatabase(
  opts: SqliteOptions,
  what: string,
): { db: Db; path: string; now: () => number } {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  const path = join(opts.dataDir, opts.fileName ?? 'devsys.sqlite')
  const db = new Database(path)
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`)
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`)
    db.pragma('foreign_keys = ON')
    const now = opts.now ?? Date.now
    const applied = migrate(db, undefined, () => new Date(now()).toISOString())
    opts.log?.info({ path, applied }, `SQLite ${what} open`)
    return { db, path, now }
  } catch (err) {
    db.close()
    throw err
  }
}

/** A time as stored: ISO-8601 UTC text, which sorts as text in time order. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
