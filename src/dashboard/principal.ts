import type { IncomingMessage } from 'node:http'
import { authorize, presentedToken } from '../api/authorize.js'
import type { AppConfig } from '../config/load-env.js'
import type { DashboardRole, RoleChecker } from './roles.js'
import type { Session } from './sessions.js'

/**
 * Who is asking: a person signed in with GitHub (a session, whose forms carry its CSRF token),
 * or a script presenting an API token in a header (which no other site can make a browser
 * send, so its requests need no CSRF token).
 */
export type Principal =
  | { kind: 'github'; login: string; session: Session; sessionId: string }
  | { kind: 'token'; login: string; role: DashboardRole }

/**
 * Signs a script in with an API token (`Authorization: Bearer` or `X-Api-Token`). Undefined when
 * the request presents none; throws the API's 401/503 for a wrong one. Today there is one
 * token, MANAGER_API_TOKEN, and it is an admin everywhere; this is the one place to swap in
 * role-aware named tokens.
 */
export function tokenPrincipal(
  req: IncomingMessage,
  config: Pick<AppConfig, 'managerApiToken'>,
): Principal | undefined {
  if (presentedToken(req) === undefined) return undefined
  authorize(req, config.managerApiToken)
  return { kind: 'token', login: 'manager-api', role: 'admin' }
}

/** The principal's role on `repo`; a person's comes from GitHub (`fresh` for actions). */
export function roleOn(
  principal: Principal,
  roles: RoleChecker,
  repo: string,
  opts: { fresh?: boolean } = {},
): Promise<DashboardRole> {
  if (principal.kind === 'token') return Promise.resolve(principal.role)
  return roles.roleOf(principal.login, repo, opts)
}
