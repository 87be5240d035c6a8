import { requireUnrestricted } from './access.js'
import { type ApiContext, auditApi } from './api-context.js'
import { apiTokenJson, issueApiToken, readTokenSpec } from './api-tokens.js'
import { ApiError, parseJsonObject, readBody, sendJson } from './http.js'

/** Token management hands out access, so it needs an admin for everything. */
const WHAT = 'managing API tokens'

/** `GET /api/tokens`: every named token, revoked ones included; never a token or its hash. */
export async function listTokens({ res, deps, caller }: ApiContext): Promise<void> {
  requireUnrestricted(caller, WHAT)
  const tokens = await deps.store.listApiTokens()
  sendJson(res, 200, { tokens: tokens.map(apiTokenJson) })
}

/**
 * `POST /api/tokens` with `{ name, role, repos?, environments?, expiresAt? | expiresInDays? }`:
 * creates a token and answers it once, in `token`; only its hash is kept.
 */
export async function createToken(ctx: ApiContext): Promise<void> {
  const { req, res, deps, caller } = ctx
  requireUnrestricted(caller, WHAT)
  const body = parseJsonObject(await readBody(req, 16 * 1024))
  const allowed = ['name', 'role', 'repos', 'environments', 'expiresAt', 'expiresInDays']
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key))
  if (unknown.length > 0) {
    throw new ApiError(
      422,
      'invalid_field',
      `unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed.join(', ')}`,
    )
  }
  const read = readTokenSpec(body, Date.now())
  if (!read.ok) {
    throw new ApiError(422, 'invalid_token', read.problems.join('; '), { problems: read.problems })
  }
  const issued = await issueApiToken(deps.store, read.spec, caller.actor)
  if (issued.kind === 'name-taken') {
    throw new ApiError(
      409,
      'token_name_taken',
      `a token named '${read.spec.name}' exists (names are never reused, even after revoking); choose another name`,
    )
  }
  const record = apiTokenJson(issued.record)
  await auditApi(ctx, {
    action: 'token.create',
    subject: `token:${record.name}`,
    target: {},
    after: record,
    result: 'ok',
  })
  sendJson(
    res,
    201,
    {
      token: issued.token,
      note: 'this is the only time DevSys shows the token: store it now; DevSys keeps only its hash',
      apiToken: record,
    },
    { location: `/api/tokens/${record.id}` },
  )
}

/** `DELETE /api/tokens/:id`: revokes the token; it is refused from then on. */
export async function revokeToken(ctx: ApiContext, rawId: string): Promise<void> {
  const { res, deps, caller } = ctx
  requireUnrestricted(caller, WHAT)
  const id = Number(rawId)
  if (!Number.isInteger(id) || id < 1) {
    throw new ApiError(
      400,
      'invalid_token_id',
      'name the token by its id, e.g. DELETE /api/tokens/3',
    )
  }
  const before = (await deps.store.listApiTokens()).find((t) => t.id === id)
  const revoked = before && (await deps.store.revokeApiToken(id))
  if (!before || !revoked) throw new ApiError(404, 'token_not_found', `no API token with id ${id}`)
  await auditApi(ctx, {
    action: 'token.revoke',
    subject: `token:${revoked.name}`,
    target: {},
    before: { revokedAt: before.revokedAt },
    after: { revokedAt: revoked.revokedAt },
    result: 'ok',
  })
  sendJson(res, 200, { apiToken: apiTokenJson(revoked) })
}
