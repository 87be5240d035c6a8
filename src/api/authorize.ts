import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { ApiError } from './http.js'

/** Reads the token a caller presented: `Authorization: Bearer <token>` or `X-Api-Token`. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (match?.[1]) return match[1]
  }
  const token = req.headers['x-api-token']
  return typeof token === 'string' && token.length > 0 ? token : undefined
}

/** Compares two secrets in constant time (hashing first so lengths cannot leak either). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(a), digest(b))
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1'
}

/**
 * Lets a request through or throws 401/403. With MANAGER_API_TOKEN set, the token is required;
 * without it, only callers on this machine are served, so a fresh install is never open to
 * the network by accident.
 */
export function authorize(req: IncomingMessage, token: string | undefined): void {
  if (token === undefined) {
    if (isLoopback(req.socket.remoteAddress)) return
    throw new ApiError(
      403,
      'api_token_not_configured',
      'the manager API only answers local requests until MANAGER_API_TOKEN is set on the DevSys server',
    )
  }
  const presented = presentedToken(req)
  if (presented === undefined) {
    throw new ApiError(
      401,
      'unauthorized',
      'send the manager API token as "Authorization: Bearer <token>" or "X-Api-Token: <token>"',
    )
  }
  if (!sameSecret(presented, token)) {
    throw new ApiError(401, 'unauthorized', 'the manager API token is not valid')
  }
}
