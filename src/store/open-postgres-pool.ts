import pg, { type Pool, type PoolClient } from 'pg'
import type { Logger } from 'pino'
import { migratePostgres } from './postgres-migrations.js'

export interface PostgresOptions {
  /** DATABASE_URL: postgres://user:password@host:port/database (the password is never logged). */
  url: string
  log?: Logger
  /** Milliseconds since the epoch; tests inject a clock to move lock expiries. */
  now?: () => number
  /** Connections kept open at most (default 10). */
  maxConnections?: number
  /** How long connecting may take before the store reports the server unreachable (default 10 s). */
  connectTimeoutMs?: number
}

const INT8 = 20
const TIMESTAMPTZ = 1184

/**
 * How values come back: bigint ids and GitHub ids as numbers (they stay far below 2^53), times
 * as the ISO-8601 UTC strings the SQLite store returns. Per pool, not pg's global parsers.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (value: string) => Number(value)
    if (oid === TIMESTAMPTZ) {
      const parse = pg.types.getTypeParser(TIMESTAMPTZ, 'text')
      return (value: string) => (parse(value) as Date).toISOString()
    }
    return pg.types.getTypeParser(oid, format ?? 'text')
  },
  // pg-types declares getTypeParser with one overload per format; this one function serves both.
} as unknown as pg.CustomTypesConfig

/** The database a URL names, for logs and errors: user@host:port/database, never the password. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url)
    const user = u.username === '' ? '' : `${decodeURIComponent(u.username)}@`
    return `${user}${u.host || 'localhost'}${u.pathname === '' ? '/' : u.pathname}`
  } catch {
    return '(DATABASE_URL, unparsable)'
  }
}

/**
 * Connects a pool to DATABASE_URL and migrates the database. Fails with a message naming the
 * server (never the password) and what to check when it cannot connect or migrate.
 */
export async function openPostgresPool(
  opts: PostgresOptions,
): Promise<{ pool: Pool; now: () => number; database: string }> {
  const database = describeDatabase(opts.url)
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    types,
  })
  // An idle connection the server drops must not crash the process: the next query reconnects.
  pool.on('error', (error) => {
    opts.log?.warn({ database, err: safeMessage(error, opts.url) }, 'PostgreSQL connection lost')
  })
  const now = opts.now ?? Date.now
  let client: PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw new Error(
      `Cannot connect to PostgreSQL at ${database}: ${safeMessage(error, opts.url)}. Check ` +
        'DATABASE_URL (host, port, user, password, database) and that the server is running ' +
        'and accepts connections from this host.',
    )
  }
  try {
    const applied = await migratePostgres(client, database, undefined, () =>
      new Date(now()).toISOString(),
    )
    opts.log?.info({ database, applied }, 'PostgreSQL store open')
  } catch (error) {
    client.release()
    await pool.end().catch(() => undefined)
    const message = safeMessage(error, opts.url)
    throw new Error(
      message.includes(database) ? message : `Migrating PostgreSQL at ${database}: ${message}`,
    )
  }
  client.release()
  return { pool, now, database }
}

/**
 * Runs `fn` in one transaction on one connection: committed when it returns, rolled back when
 * it throws.
 */
export async function inTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    client.release()
  }
}

/** The error's message with the URL's password removed, should a driver ever echo it. */
function safeMessage(error: unknown, url: string): string {
  const message = describeError(error)
  let password = ''
  try {
    password = decodeURIComponent(new URL(url).password)
  } catch {
    // no password to hide
  }
  const hidden = password === '' ? message : message.replaceAll(password, '***')
  return hidden.replaceAll(url, describeDatabase(url))
}

/** Node reports a refused connection to every address of a name as an AggregateError without a message. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  if (error.message !== '') return error.message
  if (error instanceof AggregateError) {
    return error.errors.map((e: unknown) => describeError(e)).join('; ')
  }
  return (error as NodeJS.ErrnoException).code ?? error.name
}

/** A time as stored: ISO-8601 UTC, bound as text and compared as timestamptz. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
