/**
 * Named manager API tokens. Only a token's SHA-256 hash is stored: the token itself is shown
 * once, when it is created, and is never written anywhere by DevSys.
 */

/** viewer reads; operator also deploys, rolls back, tests and cancels; admin does everything. */
export const API_ROLES = ['viewer', 'operator', 'admin'] as const
export type ApiRole = (typeof API_ROLES)[number]

export interface ApiToken {
  id: number
  /** Unique; people and the audit log (`token:<name>`) know the token by it. */
  name: string
  role: ApiRole
  /** Repository globs (`acme/*`); `*` alone is every repository, and tasks without one. */
  repos: string[]
  /** Environment globs (`staging`, `review-*`); `*` alone is every environment. */
  environments: string[]
  createdBy: string
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  revokedAt: string | null
}

export interface NewApiToken {
  name: string
  role: ApiRole
  repos: string[]
  environments: string[]
  createdBy: string
  expiresAt: string | null
  /** Hex SHA-256 of the token. */
  hash: string
}

export type CreateApiTokenResult =
  | { kind: 'created'; token: ApiToken }
  /** A token (revoked or not) already has this name; nothing was written. */
  | { kind: 'name-taken' }

/** A stored api_tokens row, as both databases return it. */
export interface ApiTokenRow {
  id: number | string
  name: string
  role: ApiRole
  repos: string | string[]
  environments: string | string[]
  created_by: string
  created_at: string
  expires_at: string | null
  last_used_at: string | null
  revoked_at: string | null
}

export const API_TOKEN_COLUMNS = `id, name, role, repos, environments, created_by, created_at,
  expires_at, last_used_at, revoked_at`

export function toApiToken(r: ApiTokenRow): ApiToken {
  const list = (v: string | string[]) => (typeof v === 'string' ? (JSON.parse(v) as string[]) : v)
  return {
    id: Number(r.id),
    name: r.name,
    role: r.role,
    repos: list(r.repos),
    environments: list(r.environments),
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  }
}
