/**
 * What the PostgreSQL server does for one benchmark database: its backends' CPU time (from
 * /proc, on this host) and its committed transactions (pg_stat_database), read through an admin
 * connection to the `postgres` database so the reads do not count against the one measured.
 */
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { POSTGRES_ADMIN_URL } from '../../test/helpers/postgres.js'
import { cpuSnapshot } from './processes.js'

export interface PostgresStats {
  /** CPU seconds of the backends connected to the database now (pid → seconds). */
  backendCpu(): Promise<Map<number, number>>
  /** Transactions committed or rolled back in the database (flushed by backends when idle or at exit). */
  transactions(): Promise<number>
  close(): Promise<void>
}

export async function postgresStats(database: string): Promise<PostgresStats> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  return {
    async backendCpu() {
      const { rows } = await admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = $1',
        [database],
      )
      return cpuSnapshot(rows.map((r) => r.pid))
    },
    async transactions() {
      const { rows } = await admin.query<{ n: string }>(
        'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1',
        [database],
      )
      return Number(rows[0]?.n ?? 0)
    },
    close: () => admin.end(),
  }
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number)
  const total = ticks.reduce((a, b) => a + b, 0)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0)
  return { busy: (total - idle) / 100, total: total / 100 }
}
