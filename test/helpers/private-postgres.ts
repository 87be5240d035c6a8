/**
 * A PostgreSQL server of one test file's own (initdb into a temporary folder, pg_ctl on a free
 * loopback port), for tests that stop and restart the server: the shared test server on 5432
 * serves other tests and must never be restarted.
 */
import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './services.js'

const run = promisify(execFile)
const VERSIONS = '/usr/lib/postgresql'

/** Debian's server binaries (initdb, pg_ctl) of the newest version installed, if any. */
function serverBin(): string | undefined {
  if (!existsSync(VERSIONS)) return undefined
  const versions = readdirSync(VERSIONS)
    .filter((v) => existsSync(join(VERSIONS, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(VERSIONS, versions[0], 'bin')
}

/**
 * Whether a private server can be started here (PostgreSQL's server binaries installed). In CI
 * (CI=true) their absence is an error, so no test passes by skipping; elsewhere the caller
 * skips and the reason is printed.
 */
export function requirePrivatePostgres(why: string): boolean {
  if (serverBin() !== undefined) return true
  const problem = `PostgreSQL's server binaries (initdb, pg_ctl under ${VERSIONS}/<version>/bin) are not installed`
  if (process.env.CI === 'true') {
    throw new Error(
      `${problem}, and CI must run every test: ${why}. Install postgresql (see .ci/run).`,
    )
  }
  process.stderr.write(`skipping tests that need a private PostgreSQL: ${why}; ${problem}\n`)
  return false
}

export interface PrivatePostgres {
  port: number
  /** An admin URL (user postgres, trusted on loopback) of the database `postgres`. */
  url: string
  /** Creates a database and returns its URL (DATABASE_URL for DevSys). */
  createDatabase(name: string): Promise<string>
  /** Runs `sql` as postgres in `database`. */
  query(database: string, sql: string): Promise<pg.QueryResult>
  /** pg_ctl stop -m fast: open connections are terminated, new ones refused. */
  stop(): Promise<void>
  /** Starts it again on the same port and data. */
  start(): Promise<void>
  /**
   * Stops the server and its backends with SIGSTOP, as a hung host: connections stay open and
   * nothing answers. `thaw` resumes them.
   */
  freeze(): void
  thaw(): void
  /** Stops it (if running) and removes its folder. */
  destroy(): Promise<void>
}

/** initdb into a fresh folder and start the server on a free port; waits until it accepts. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = serverBin()
  if (bin === undefined) throw new Error('PostgreSQL server binaries are not installed')
  const root = mkdtempSync(join(tmpdir(), 'devsys-private-pg-'))
  const data = join(root, 'data')
  // The server refuses to run as root: as root, run its tools as the postgres user.
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
    chownSync(root, uid, gid)
  }
  const tool = (name: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, name), ...args])
      : run(join(bin, name), args)
  await tool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`
  const logFile = join(root, 'server.log')
  let running = false
  const start = async () => {
    try {
      await tool('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '30', 'start'])
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''
      throw new Error(`the private PostgreSQL did not start: ${(error as Error).message}\n${log}`)
    }
    running = true
  }
  const stop = async () => {
    if (!running) return
    await tool('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'])
    running = false
  }
  await start()
  const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`
  const query = async (database: string, sql: string) => {
    const client = new pg.Client({
      connectionString: urlOf(database),
      connectionTimeoutMillis: 3000,
    })
    await client.connect()
    try {
      return await client.query(sql)
    } finally {
      await client.end()
    }
  }
  return {
    port,
    url: urlOf('postgres'),
    async createDatabase(name) {
      await query('postgres', `CREATE DATABASE ${name}`)
      return urlOf(name)
    },
    query,
    stop,
    start,
    freeze: () => signalServer(data, 'SIGSTOP'),
    thaw: () => signalServer(data, 'SIGCONT'),
    async destroy() {
      await stop().catch(() => undefined)
      rmSync(root, { recursive: true, force: true })
    },
  }
}

/** Sends `signal` to the server of `data` (its postmaster.pid) and every process it started. */
function signalServer(data: string, signal: NodeJS.Signals): void {
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after ')'.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster
      } catch {
        return false
      }
    })
    .map(Number)
  for (const pid of [postmaster, ...children]) process.kill(pid, signal)
}
