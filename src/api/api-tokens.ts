import { createHash, randomBytes } from 'node:crypto'
import {
  API_ROLES,
  type ApiRole,
  type ApiToken,
  type ApiTokenStore,
  type CreateApiTokenResult,
} from '../store/store.js'

/** Every named token starts with this, so people, scanners and DevSys's redaction know one. */
export const TOKEN_PREFIX = 'dsy_'

/** A new token: the prefix and 32 random bytes (256 bits), base64url. */
export function generateApiToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
}

/** The hex SHA-256 a token is stored and looked up by. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** What a new token is: validated by `readTokenSpec`. */
export interface TokenSpec {
  name: string
  role: ApiRole
  repos: string[]
  environments: string[]
  expiresAt: string | null
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const GLOB = /^[A-Za-z0-9*?._/{},![\]-]{1,200}$/
/** Tokens expire after this many days unless asked otherwise. */
export const DEFAULT_TOKEN_DAYS = 90

/**
 * Checks a token request (API body or CLI options) and fills the defaults: every repository
 * and environment, expiry in 90 days. A token that never expires must be asked for explicitly,
 * with `"expiresAt": null` (`--no-expiry`); an expiry in the past is refused.
 */
export function readTokenSpec(
  input: Record<string, unknown>,
  now: number,
): { ok: true; spec: TokenSpec } | { ok: false; problems: string[] } {
  const problems: string[] = []
  const { name, role, repos, environments, expiresAt, expiresInDays } = input
  if (typeof name !== 'string' || !NAME.test(name)) {
    problems.push(
      '"name" must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    )
  }
  if (typeof role !== 'string' || !(API_ROLES as readonly string[]).includes(role)) {
    problems.push(`"role" must be one of ${API_ROLES.join(', ')}`)
  }
  const globs = (value: unknown, field: string): string[] => {
    if (value === undefined) return ['*']
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      !value.every((v) => typeof v === 'string' && GLOB.test(v))
    ) {
      problems.push(
        `"${field}" must be a non-empty list of globs such as ["acme/*"] or ["*"] for all`,
      )
      return []
    }
    return value as string[]
  }
  const repoGlobs = globs(repos, 'repos')
  const envGlobs = globs(environments, 'environments')
  let expiry: string | null = new Date(now + DEFAULT_TOKEN_DAYS * 86_400_000).toISOString()
  if (expiresAt !== undefined && expiresInDays !== undefined) {
    problems.push('give "expiresAt" or "expiresInDays", not both')
  } else if (expiresAt === null) {
    expiry = null
  } else if (expiresAt !== undefined) {
    const time = typeof expiresAt === 'string' ? Date.parse(expiresAt) : Number.NaN
    if (!Number.isFinite(time) || time <= now) {
      problems.push(
        '"expiresAt" must be a future ISO time such as 2027-01-31T00:00:00Z, or null for never',
      )
    } else expiry = new Date(time).toISOString()
  } else if (expiresInDays !== undefined) {
    if (
      typeof expiresInDays !== 'number' ||
      !Number.isInteger(expiresInDays) ||
      expiresInDays < 1 ||
      expiresInDays > 3650
    ) {
      problems.push('"expiresInDays" must be a whole number of days from 1 to 3650')
    } else expiry = new Date(now + expiresInDays * 86_400_000).toISOString()
  }
  if (problems.length > 0) return { ok: false, problems }
  return {
    ok: true,
    spec: {
      name: name as string,
      role: role as ApiRole,
      repos: repoGlobs,
      environments: envGlobs,
      expiresAt: expiry,
    },
  }
}

/**
 * Creates a named token: generates it, stores only its hash, and returns it once. The caller
 * shows `token` to whoever asked and forgets it; DevSys cannot show it again.
 */
export async function issueApiToken(
  store: Pick<ApiTokenStore, 'createApiToken'>,
  spec: TokenSpec,
  createdBy: string,
): Promise<{ kind: 'created'; token: string; record: ApiToken } | { kind: 'name-taken' }> {
  const token = generateApiToken()
  const result: CreateApiTokenResult = await store.createApiToken({
    ...spec,
    createdBy,
    hash: hashApiToken(token),
  })
  if (result.kind === 'name-taken') return result
  return { kind: 'created', token, record: result.token }
}

/** The public JSON shape of a token: never its hash. */
export function apiTokenJson(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    repos: t.repos,
    environments: t.environments,
    createdBy: t.createdBy,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  }
}
