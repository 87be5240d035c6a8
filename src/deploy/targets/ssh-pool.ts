import type { Client, SFTPWrapper } from 'ssh2'

/** One kept SSH connection, with its SFTP session and shell helper opened on first use. */
export interface PooledConnection {
  readonly client: Client
  /** Whether the connection has ended (dropped, idle, or the pool closed): lease another. */
  readonly closed: boolean
  /** The connection's one SFTP session (switches, links, markers: no shell). */
  sftp(): Promise<SFTPWrapper>
  /** Per-connection state a user of the pool keeps (the ssh target's host-side helper). */
  readonly extras: Map<string, unknown>
}

/** A lease on a pooled connection: `release()` gives it back (kept open until idle). */
export interface SshLease {
  connection: PooledConnection
  release(): void
}

/**
 * Kept SSH connections per login (host, port, user, key, known_hosts), so that a rollback or a
 * redeploy to a host DevSys talked to recently pays no handshake. A connection that closes or
 * errors is dropped (the next lease opens a new one); one nobody leases for `idleMs` is closed.
 */
export interface SshPool {
  /** A connection for `key`, reused when one is open, else made with `open`. */
  lease(key: string, open: () => Promise<Client>): Promise<SshLease>
  /** How many connections are open (for tests and metrics). */
  size(): number
  /** Ends every connection. */
  close(): Promise<void>
}

export interface SshPoolOptions {
  /** Close a connection nobody has leased for this long. Default 60 s. */
  idleMs?: number
  /**
   * A connection idle for longer than this is checked with one SFTP round trip before it is
   * leased again, and replaced if that fails (a host rebooted since). Default 2 s.
   */
  checkAfterMs?: number
}

interface Entry {
  connection: PooledConnection
  leases: number
  idleSince: number
  timer: NodeJS.Timeout | undefined
  closed: boolean
}

export function createSshPool(opts: SshPoolOptions = {}): SshPool {
  const idleMs = opts.idleMs ?? 60_000
  const checkAfterMs = opts.checkAfterMs ?? 2_000
  const entries = new Map<string, Entry>()
  /** Connections being opened, so that concurrent leases of one key share the handshake. */
  const opening = new Map<string, Promise<Entry>>()

  const drop = (key: string, entry: Entry): void => {
    entry.closed = true
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    if (entries.get(key) === entry) entries.delete(key)
    entry.connection.client.end()
  }

  const add = async (key: string, open: () => Promise<Client>): Promise<Entry> => {
    const client = await open()
    let sftp: Promise<SFTPWrapper> | undefined
    const entry: Entry = {
      connection: {
        client,
        get closed() {
          return entry.closed
        },
        extras: new Map(),
        sftp() {
          sftp ??= new Promise<SFTPWrapper>((resolve, reject) => {
            client.sftp((error, session) => {
              if (error) {
                sftp = undefined
                reject(error)
              } else resolve(session)
            })
          })
          return sftp
        },
      },
      leases: 0,
      idleSince: Date.now(),
      timer: undefined,
      closed: false,
    }
    // A dropped connection is forgotten at once, so the next lease connects again.
    client.on('close', () => drop(key, entry))
    client.on('error', () => drop(key, entry))
    entries.set(key, entry)
    return entry
  }

  /** Whether an idle connection still answers (one SFTP round trip, 5 s at most). */
  const alive = async (entry: Entry): Promise<boolean> => {
    try {
      const sftp = await entry.connection.sftp()
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer')), 5_000)
        sftp.realpath('.', (error) => {
          clearTimeout(timer)
          if (error) reject(error)
          else resolve()
        })
      })
      return !entry.closed
    } catch {
      return false
    }
  }

  const take = (key: string, entry: Entry): SshLease => {
    entry.leases++
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.timer = undefined
    let released = false
    return {
      connection: entry.connection,
      release() {
        if (released) return
        released = true
        entry.leases--
        if (entry.leases > 0 || entry.closed) return
        entry.idleSince = Date.now()
        entry.timer = setTimeout(() => drop(key, entry), idleMs)
        entry.timer.unref()
      },
    }
  }

  return {
    async lease(key, open) {
      for (;;) {
        const kept = entries.get(key)
        if (kept !== undefined && !kept.closed) {
          const idle = kept.leases === 0 && Date.now() - kept.idleSince > checkAfterMs
          const lease = take(key, kept)
          if (!idle || (await alive(kept))) return lease
          lease.release()
          drop(key, kept)
          continue
        }
        let pending = opening.get(key)
        if (pending === undefined) {
          pending = add(key, open).finally(() => opening.delete(key))
          opening.set(key, pending)
        }
        const entry = await pending
        if (entry.closed) throw new Error('the connection closed as soon as it was opened')
        return take(key, entry)
      }
    },
    size: () => entries.size,
    async close() {
      for (const [key, entry] of [...entries]) drop(key, entry)
    },
  }
}
