import type { IncomingMessage } from 'node:http'
import type { ApiTokenStore } from '../store/store.js'
import { bootstrapCaller, type Caller } from './access.js'
import { hashApiToken, TOKEN_PREFIX } from './api-tokens.js'
import { authorize, presentedToken } from './authorize.js'
import { ApiError } from './http.js'

export interface AuthenticateOptions {
  /** MANAGER_API_TOKEN or the generated one: the bootstrap admin. */
  bootstrapToken: string | undefined
  /** Where named tokens are; without it only the bootstrap token is accepted. */
  tokens?: Pick<ApiTokenStore, 'findApiTokenByHash' | 'touchApiToken'>
  now?: () => number
}

/**
 * Who sent the request, or 401/503: a named token (`dsy_…`, looked up by its hash; refused
 * when revoked or expired, saying which) or the bootstrap token. Records the named token's use.
 */
export async function authenticate(
  req: IncomingMessage,
  opts: AuthenticateOptions,
): Promise<Caller> {
  const presented = presentedToken(req)
  if (presented?.startsWith(TOKEN_PREFIX) && opts.tokens) {
    const token = await opts.tokens.findApiTokenByHash(hashApiToken(presented))
    if (token === undefined) {
      throw new ApiError(401, 'unauthorized', 'the manager API token is not valid')
    }
    if (token.revokedAt !== null) {
      throw new ApiError(
        401,
        'token_revoked',
        `the API token '${token.name}' was revoked at ${token.revokedAt}; ask an admin for a new one`,
      )
    }
    const now = (opts.now ?? Date.now)()
    if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now) {
      throw new ApiError(
        401,
        'token_expired',
        `the API token '${token.name}' expired at ${token.expiresAt}; ask an admin for a new one`,
      )
    }
    await opts.tokens.touchApiToken(token.id)
    return {
      actor: `token:${token.name}`,
      role: token.role,
      repos: token.repos,
      environments: token.environments,
      tokenId: token.id,
    }
  }
  authorize(req, opts.bootstrapToken)
  return bootstrapCaller()
}
