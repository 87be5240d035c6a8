import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A signed-in person: their GitHub login, and the synchronizer token every form must carry. */
export interface Session {
  login: string
  csrf: string
  createdAt: number
  expiresAt: number
}

export interface Sessions {
  /** Starts a session; returns the id for the cookie (the only place it is kept whole). */
  create(login: string): { id: string; session: Session }
  /** The live session the cookie's id names; an expired one is dropped. */
  get(id: string): Session | undefined
  delete(id: string): void
}

/** Eight hours: a working day; GitHub roles are rechecked on every action anyway. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000

/**
 * Server-side session records, keyed by the SHA-256 of the session id, so what DevSys holds
 * (memory, a heap dump) cannot be replayed as a cookie. They live in this receiver's memory: a
 * restart signs everyone out, and several receivers need sticky sessions (see README).
 */
export function createSessions(opts: { ttlMs?: number; now?: () => number } = {}): Sessions {
  const ttlMs = opts.ttlMs ?? SESSION_TTL_MS
  const now = opts.now ?? Date.now
  const records = new Map<string, Session>()
  const key = (id: string) => createHash('sha256').update(id).digest('hex')
  const sweep = () => {
    const t = now()
    for (const [k, s] of records) if (s.expiresAt <= t) records.delete(k)
  }
  return {
    create(login) {
      sweep()
      const id = randomBytes(32).toString('base64url')
      const t = now()
      const session = {
        login,
        csrf: randomBytes(32).toString('base64url'),
        createdAt: t,
        expiresAt: t + ttlMs,
      }
      records.set(key(id), session)
      return { id, session }
    },
    get(id) {
      const session = records.get(key(id))
      if (session === undefined) return undefined
      if (session.expiresAt <= now()) {
        records.delete(key(id))
        return undefined
      }
      return session
    },
    delete(id) {
      records.delete(key(id))
    },
  }
}

/** The cookies a request sent, by name (the first of each name wins). */
export function readCookies(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim())
  }
  return cookies
}

export interface CookiePolicy {
  /** Secure (sent over https only): when DASHBOARD_URL is https. */
  secure: boolean
}

/** The session cookie's name: `__Host-` prefixed over https, so no subdomain can set it. */
export function sessionCookieName(policy: CookiePolicy): string {
  return policy.secure ? '__Host-devsys_session' : 'devsys_session'
}

/**
 * A Set-Cookie value: always HttpOnly (no script reads it) and SameSite=Lax (not sent with
 * cross-site POSTs), Secure over https; `maxAgeSeconds` 0 deletes it.
 */
export function cookie(
  name: string,
  value: string,
  opts: CookiePolicy & { path: string; maxAgeSeconds: number },
): string {
  return [
    `${name}=${value}`,
    `Path=${opts.path}`,
    `Max-Age=${opts.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ')
}
