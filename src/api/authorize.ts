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

/**
 * Lets a request through or throws 401/503. The token is always required, also from loopback:
 * sites DevSys serves and checks run on this machine too, so the caller's address proves
 * nothing. `token` is MANAGER_API_TOKEN or the one DevSys generated in DATA_DIR at start.
 */
export function authorize(req: IncomingMessage, token: string | undefined): void {
  if (token === undefined) {
    throw new ApiError(
      503,
      'api_token_not_configured',
      'the manager API has no token, so it answers nobody; set MANAGER_API_TOKEN on the DevSys server, or start DevSys normally, which generates one in DATA_DIR/manager-api-token',
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
