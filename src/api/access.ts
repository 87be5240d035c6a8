import picomatch from 'picomatch'
import type { ApiRole } from '../store/store.js'
import { ApiError } from './http.js'

/**
 * Who is calling the manager API, as authentication established it: the bootstrap token
 * (MANAGER_API_TOKEN or DATA_DIR/manager-api-token: an admin for everything) or a named token.
 */
export interface Caller {
  /** What the audit log names: `manager-api` for the bootstrap token, `token:<name>` otherwise. */
  actor: string
  role: ApiRole
  /** Repository globs; `*` alone is every repository (and tasks without one). */
  repos: readonly string[]
  /** Environment globs; `*` alone is every environment. */
  environments: readonly string[]
  /** The named token's id; null for the bootstrap token. */
  tokenId: number | null
}

export const BOOTSTRAP_ACTOR = 'manager-api'

/** The bootstrap admin: every action, every repository and environment. */
export function bootstrapCaller(): Caller {
  return { actor: BOOTSTRAP_ACTOR, role: 'admin', repos: ['*'], environments: ['*'], tokenId: null }
}

/**
 * What a route may do, and the least role that may do it. Every route declares one (deny by
 * default: a route without an action does not compile into the table).
 */
export const ACTION_ROLES = {
  read: 'viewer',
  'task.write': 'operator',
  deploy: 'operator',
  rollback: 'operator',
  test: 'operator',
  cancel: 'operator',
  tokens: 'admin',
  locks: 'admin',
  /** Sending test notifications to the server's destinations. */
  notifications: 'admin',
} as const satisfies Record<string, ApiRole>
export type ApiAction = keyof typeof ACTION_ROLES

const RANK: Record<ApiRole, number> = { viewer: 0, operator: 1, admin: 2 }

/** Throws 403 naming the role `action` needs when the caller's role is below it. */
export function requireRole(caller: Caller, action: ApiAction): void {
  const needed = ACTION_ROLES[action]
  if (RANK[caller.role] >= RANK[needed]) return
  throw new ApiError(
    403,
    'forbidden_role',
    `this needs the ${needed} role (action '${action}'); the token ${describe(caller)} is a ${caller.role}; ask an admin for a token with the ${needed} role`,
    { needed: { role: needed, action } },
  )
}

/** True when `pattern` lists only `*`: everything, even what has no name (tasks without repo). */
function everything(patterns: readonly string[]): boolean {
  return patterns.includes('*')
}

/** Whether the caller may see `repo` ('owner/name'; null for API tasks without a repository). */
export function seesRepo(caller: Caller, repo: string | null): boolean {
  if (everything(caller.repos)) return true
  if (repo === null) return false
  // GitHub repository names are case-insensitive.
  return picomatch(caller.repos as string[], { nocase: true })(repo)
}

/** Whether the caller may act on environment `env`. */
export function seesEnvironment(caller: Caller, env: string | null): boolean {
  if (everything(caller.environments)) return true
  if (env === null) return false
  return picomatch(caller.environments as string[])(env)
}

/** Whether the caller's scope is every repository and every environment. */
export function unrestricted(caller: Caller): boolean {
  return everything(caller.repos) && everything(caller.environments)
}

/** Throws 403 unless the caller may act on every repository and environment (tokens, metrics). */
export function requireUnrestricted(caller: Caller, what: string): void {
  if (unrestricted(caller)) return
  throw new ApiError(
    403,
    'forbidden_scope',
    `${what} needs a token for all repositories and environments (repos ["*"], environments ["*"]); the token ${describe(caller)} is limited to repos ${JSON.stringify(caller.repos)} and environments ${JSON.stringify(caller.environments)}`,
    { needed: { repos: ['*'], environments: ['*'] } },
  )
}

/**
 * Throws 403 unless the caller may act on `env`. Deploys without an environment use the
 * repository's default, which only a token for every environment may rely on.
 */
export function requireEnvironment(caller: Caller, env: string | null): void {
  if (seesEnvironment(caller, env)) return
  const allowed = JSON.stringify(caller.environments)
  throw new ApiError(
    403,
    'forbidden_environment',
    env === null
      ? `the token ${describe(caller)} may act only on environments ${allowed}; name one in "environment"`
      : `the token ${describe(caller)} may not act on environment '${env}'; it is limited to ${allowed}`,
    { needed: { environment: env } },
  )
}

function describe(caller: Caller): string {
  return caller.tokenId === null ? '(bootstrap)' : `'${caller.actor.replace(/^token:/, '')}'`
}
