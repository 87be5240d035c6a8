import type { Database, Statement } from 'better-sqlite3'
import { iso } from './open-sqlite-database.js'
import type { AcquireDeployLockResult, DeployLock, DeployLockHolder } from './store.js'

interface LockRow {
  owner: string
  reason: string
  acquired_at: string
  expires_at: string
}

type Params = Record<string, string>

/** Deploy locks of the SQLite store: one row per held environment. */
export class SqliteLocks {
  private readonly s: {
    take: Statement<Params>
    get: Statement<[string], LockRow>
    renew: Statement<Params>
    release: Statement<[string, string]>
    list: Statement<[], LockRow & { env: string }>
    live: Statement<[string, string], LockRow>
  }

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
  ) {
    this.s = {
      // One statement decides: a free env is inserted; an expired lock (ISO strings compare as
      // times) or one its owner takes again (a retried job) is overwritten; another owner's
      // live lock is left alone and `changes` stays 0.
      take: db.prepare(`INSERT INTO deploy_locks (env, owner, reason, acquired_at, expires_at)
        VALUES (@env, @owner, @reason, @now, @expires)
        ON CONFLICT (env) DO UPDATE SET owner = excluded.owner, reason = excluded.reason,
          acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
        WHERE deploy_locks.expires_at <= @now OR deploy_locks.owner = @owner`),
      get: db.prepare(
        'SELECT owner, reason, acquired_at, expires_at FROM deploy_locks WHERE env = ?',
      ),
      renew: db.prepare(`UPDATE deploy_locks SET expires_at = @expires
        WHERE env = @env AND owner = @owner AND expires_at > @now`),
      release: db.prepare('DELETE FROM deploy_locks WHERE env = ? AND owner = ?'),
      list: db.prepare(
        'SELECT env, owner, reason, acquired_at, expires_at FROM deploy_locks ORDER BY env',
      ),
      live: db.prepare(`SELECT owner, reason, acquired_at, expires_at FROM deploy_locks
        WHERE env = ? AND expires_at > ?`),
    }
  }

  acquire(env: string, owner: string, reason: string, ttlMs: number): AcquireDeployLockResult {
    const now = this.now()
    const params = { env, owner, reason, now: iso(now), expires: iso(now + Math.max(0, ttlMs)) }
    return this.db.transaction((): AcquireDeployLockResult => {
      if (this.s.take.run(params).changes === 1) return { acquired: true }
      const row = this.s.get.get(env)
      // Inside the transaction a refused take means a live row exists.
      if (row === undefined) throw new Error(`deploy lock of ${env} vanished mid-transaction`)
      return {
        acquired: false,
        holder: toHolder(row),
      }
    })()
  }

  /** An expired lock is not renewed: someone else may already have taken it over. */
  renew(env: string, owner: string, ttlMs: number): boolean {
    const now = this.now()
    return (
      this.s.renew.run({ env, owner, now: iso(now), expires: iso(now + Math.max(0, ttlMs)) })
        .changes === 1
    )
  }

  release(env: string, owner: string): boolean {
    return this.s.release.run(env, owner).changes === 1
  }

  /** Who holds the environment's lock now; undefined when it is free or expired. */
  holder(env: string): DeployLockHolder | undefined {
    const row = this.s.live.get(env, iso(this.now()))
    return row && toHolder(row)
  }

  list(): DeployLock[] {
    return this.s.list.all().map((row) => ({ env: row.env, ...toHolder(row) }))
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
