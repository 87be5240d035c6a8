import type { Pool } from 'pg'
import { iso } from './open-postgres-pool.js'
import type { AcquireDeployLockResult, DeployLock, DeployLockHolder } from './store.js'

interface LockRow {
  owner: string
  reason: string
  acquired_at: string
  expires_at: string
}

/** Deploy locks of the PostgreSQL store: one row per held environment. */
export class PostgresLocks {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  async acquire(
    env: string,
    owner: string,
    reason: string,
    ttlMs: number,
  ): Promise<AcquireDeployLockResult> {
    const now = this.now()
    const params = [env, owner, reason, iso(now), iso(now + Math.max(0, ttlMs))]
    // The holder may release between a refused take and the look at who holds it; then the
    // take is tried again (a release frees the row, so this ends).
    for (;;) {
      // One statement decides: a free env is inserted; an expired lock or one its owner takes
      // again (a retried job) is overwritten; another owner's live lock is left alone.
      const taken = await this.pool.query(
        `INSERT INTO deploy_locks (env, owner, reason, acquired_at, expires_at)
          VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT (env) DO UPDATE SET owner = excluded.owner, reason = excluded.reason,
            acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
          WHERE deploy_locks.expires_at <= $4 OR deploy_locks.owner = $2`,
        params,
      )
      if (taken.rowCount === 1) return { acquired: true }
      const held = await this.pool.query<LockRow>(
        'SELECT owner, reason, acquired_at, expires_at FROM deploy_locks WHERE env = $1',
        [env],
      )
      const row = held.rows[0]
      if (row === undefined) continue
      return {
        acquired: false,
        holder: toHolder(row),
      }
    }
  }

  /** An expired lock is not renewed: someone else may already have taken it over. */
  async renew(env: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.now()
    const result = await this.pool.query(
      `UPDATE deploy_locks SET expires_at = $4
        WHERE env = $1 AND owner = $2 AND expires_at > $3`,
      [env, owner, iso(now), iso(now + Math.max(0, ttlMs))],
    )
    return result.rowCount === 1
  }

  async release(env: string, owner: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM deploy_locks WHERE env = $1 AND owner = $2', [
      env,
      owner,
    ])
    return result.rowCount === 1
  }

  /** Who holds the environment's lock now; undefined when it is free or expired. */
  async holder(env: string): Promise<DeployLockHolder | undefined> {
    const result = await this.pool.query<LockRow>(
      `SELECT owner, reason, acquired_at, expires_at FROM deploy_locks
        WHERE env = $1 AND expires_at > $2`,
      [env, iso(this.now())],
    )
    const row = result.rows[0]
    return row && toHolder(row)
  }

  async list(): Promise<DeployLock[]> {
    const result = await this.pool.query<LockRow & { env: string }>(
      'SELECT env, owner, reason, acquired_at, expires_at FROM deploy_locks ORDER BY env',
    )
    return result.rows.map((row) => ({ env: row.env, ...toHolder(row) }))
  }
}

/** Who holds a lock, as the port reports it. */
function toHolder(row: LockRow): DeployLockHolder {
  return {
    owner: row.owner,
    reason: row.reason,
    acquiredAt: row.acquired_at,
    expiresAt: row.expires_at,
  }
}
