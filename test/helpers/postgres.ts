import { randomBytes } from 'node:crypto'
import pg from 'pg'

/**
 * The PostgreSQL server tests use: DEVSYS_TEST_POSTGRES_URL (an admin URL: a user that may
 * create databases) or the local server as .ci/run sets it up.
 */
export const POSTGRES_ADMIN_URL =
  process.env.DEVSYS_TEST_POSTGRES_URL ?? 'postgres://postgres:devsys-test@127.0.0.1:5432/postgres'

const HOW_TO_START =
  'start it as .ci/run does (apt-get install postgresql; pg_ctlcluster 15 main start; ' +
  'runuser -u postgres -- psql -c "ALTER USER postgres PASSWORD \'devsys-test\'"), or set ' +
  'DEVSYS_TEST_POSTGRES_URL to an admin URL of another server'

let reachable: Promise<string | undefined> | undefined

/**
 * Whether tests can use the PostgreSQL server. In CI (CI=true) an unreachable server is an
 * error, so no test passes by skipping; elsewhere the caller skips and the reason is printed.
 * Use as `if (await requirePostgres('runs the store contracts')) { ... }`.
 */
export async function requirePostgres(why: string): Promise<boolean> {
  reachable ??= withAdmin(async () => undefined).catch(
    (error: unknown) => (error as Error).message || String(error),
  )
  const problem = await reachable
  if (problem === undefined) return true
  const where = describeUrl(POSTGRES_ADMIN_URL)
  if (process.env.CI === 'true') {
    throw new Error(
      `PostgreSQL at ${where} is needed and CI must run every test: ${why}; it answered: ${problem}. ${HOW_TO_START[0]?.toUpperCase()}${HOW_TO_START.slice(1)}.`,
    )
  }
  process.stderr.write(
    `skipping tests that need PostgreSQL at ${where}: ${why}; ${problem} (${HOW_TO_START})\n`,
  )
  return false
}

/** A new empty database on the test server; `drop` removes it (closing what is still connected). */
export interface TestDatabase {
  /** The URL DevSys is given (DATABASE_URL). */
  url: string
  name: string
  /** Runs `sql` in this database as the admin user (grants, roles, inspection). */
  asAdmin(sql: string, values?: unknown[]): Promise<pg.QueryResult>
  drop(): Promise<void>
}

/** Creates `devsys_test_<random>` on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `devsys_test_${randomBytes(6).toString('hex')}`
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`))
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    asAdmin: (sql, values) => withAdmin((admin) => admin.query(sql, values), name),
    async drop() {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}

async function withAdmin<T>(fn: (admin: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const url = new URL(POSTGRES_ADMIN_URL)
  if (database !== undefined) url.pathname = `/${database}`
  const admin = new pg.Client({
    connectionString: url.toString(),
    connectionTimeoutMillis: 3000,
  })
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.end()
  }
}

/** user@host:port, without the password. */
function describeUrl(url: string): string {
  const u = new URL(url)
  return `${u.username}@${u.host}`
}
