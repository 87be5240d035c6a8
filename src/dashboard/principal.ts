import type { IncomingMessage } from 'node:http'
import { type Caller, seesEnvironment, seesRepo } from '../api/access.js'
import { authenticate } from '../api/authenticate.js'
import { presentedToken } from '../api/authorize.js'
import type { AppConfig } from '../config/load-env.js'
import type { ApiTokenStore } from '../store/store.js'
import type { DashboardRole, RoleChecker } from './roles.js'
import type { Session } from './sessions.js'

/**
 * Who is asking: a person signed in with GitHub (a session, whose forms carry its CSRF token),
 * or a script presenting an API token in a header (which no other site can make a browser
 * send, so its requests need no CSRF token).
 */
export type Principal =
  | { kind: 'github'; login: string; session: Session; sessionId: string }
  | { kind: 'token'; login: string; role: DashboardRole; caller: Caller }

/**
 * Signs a script in with an API token (`Authorization: Bearer` or `X-Api-Token`), as the
 * manager API does: a named token (its role and repository and environment scope) or the
 * bootstrap token (an admin everywhere). Undefined when the request presents none; throws the
 * API's 401/503 for a wrong, revoked or expired one.
 */
export async function tokenPrincipal(
  req: IncomingMessage,
  config: Pick<AppConfig, 'managerApiToken'>,
  tokens: Pick<ApiTokenStore, 'findApiTokenByHash' | 'touchApiToken'>,
): Promise<Principal | undefined> {
  if (presentedToken(req) === undefined) return undefined
  const caller = await authenticate(req, { bootstrapToken: config.managerApiToken, tokens })
  return { kind: 'token', login: caller.actor, role: caller.role, caller }
}

/**
 * The principal's role on `repo` (and `environment`, where the page acts on one); a person's
 * comes from GitHub (`fresh` for actions), a token's from its role within its scope.
 */
export function roleOn(
  principal: Principal,
  roles: RoleChecker,
  repo: string,
  opts: { fresh?: boolean; environment?: string } = {},
): Promise<DashboardRole> {
  if (principal.kind === 'token') {
    const { caller } = principal
    const inScope =
      seesRepo(caller, repo) &&
      (opts.environment === undefined || seesEnvironment(caller, opts.environment))
    return Promise.resolve(inScope ? caller.role : 'none')
  }
  return roles.roleOf(principal.login, repo, opts)
}
