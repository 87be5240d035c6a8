import { userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import { apiTokenJson, issueApiToken, readTokenSpec } from '../api/api-tokens.js'
import type { ApiToken, ApiTokenStore, AuditStore } from '../store/store.js'

export const TOKEN_USAGE = `  token create --name <name> --role viewer|operator|admin [--repo <glob>]... [--env <glob>]...
      [--expires-in-days <n> | --expires-at <iso time> | --no-expiry]
      create a named manager API token (default: every repository and environment, expiring
      in 90 days) and print it once: DevSys keeps only its hash
  token list
      list the named tokens: role, scope, expiry, last use, revocation (never the tokens)
  token revoke <id or name>
      revoke a token; requests with it are refused from then on`

type Out = (line: string) => void

/**
 * `devsys token create|list|revoke` on the configured store (DATA_DIR's SQLite file or
 * DATABASE_URL), for the first admin token and for when the API is out of reach. Audited
 * like the API's token routes, with the operating-system user as the actor.
 */
export async function tokenCommand(
  args: string[],
  store: ApiTokenStore & AuditStore,
  io: { out: Out; err: Out; now?: () => number },
): Promise<number> {
  const [sub, ...rest] = args
  const actor = `cli:${userInfo().username}`
  switch (sub) {
    case 'create':
      return create(rest, store, actor, io)
    case 'list': {
      if (rest.length > 0) return usageError(io.err, 'token list takes no arguments')
      const tokens = await store.listApiTokens()
      if (tokens.length === 0) io.out('no API tokens (the bootstrap MANAGER_API_TOKEN still works)')
      for (const token of tokens) io.out(describe(token, io.now?.() ?? Date.now()))
      return 0
    }
    case 'revoke':
      return revoke(rest, store, actor, io)
    default:
      return usageError(io.err, `unknown token command ${JSON.stringify(sub ?? '')}`)
  }
}

async function create(
  rest: string[],
  store: ApiTokenStore & AuditStore,
  actor: string,
  io: { out: Out; err: Out; now?: () => number },
): Promise<number> {
  let values: ReturnType<typeof parse>['values']
  try {
    values = parse(rest).values
  } catch (error) {
    return usageError(io.err, (error as Error).message)
  }
  const expiries = [values['expires-in-days'], values['expires-at'], values['no-expiry']]
  if (expiries.filter((v) => v !== undefined).length > 1) {
    return usageError(io.err, 'give one of --expires-in-days, --expires-at, --no-expiry')
  }
  const days = values['expires-in-days']
  const read = readTokenSpec(
    {
      name: values.name,
      role: values.role,
      ...(values.repo ? { repos: values.repo } : {}),
      ...(values.env ? { environments: values.env } : {}),
      ...(days === undefined ? {} : { expiresInDays: Number(days) }),
      ...(values['expires-at'] === undefined ? {} : { expiresAt: values['expires-at'] }),
      ...(values['no-expiry'] ? { expiresAt: null } : {}),
    },
    io.now?.() ?? Date.now(),
  )
  if (!read.ok) return usageError(io.err, read.problems.join('\n'))
  const issued = await issueApiToken(store, read.spec, actor)
  if (issued.kind === 'name-taken') {
    io.err(`a token named '${read.spec.name}' exists (names are never reused); choose another name`)
    return 1
  }
  await store.audit({
    actor,
    via: 'system',
    action: 'token.create',
    subject: `token:${issued.record.name}`,
    after: apiTokenJson(issued.record),
    result: 'ok',
    details: { tool: 'devsys token create' },
  })
  io.out(issued.token)
  io.err(
    `created ${describe(issued.record, io.now?.() ?? Date.now())}\nthis is the only time the token is shown: store it now (DevSys keeps only its hash)`,
  )
  return 0
}

async function revoke(
  rest: string[],
  store: ApiTokenStore & AuditStore,
  actor: string,
  io: { out: Out; err: Out },
): Promise<number> {
  const [which, ...extra] = rest
  if (which === undefined || extra.length > 0) {
    return usageError(io.err, 'token revoke takes one token id or name')
  }
  const token = (await store.listApiTokens()).find(
    (t) => String(t.id) === which || t.name === which,
  )
  if (!token) {
    io.err(`no API token with id or name '${which}'; see devsys token list`)
    return 1
  }
  const revoked = await store.revokeApiToken(token.id)
  await store.audit({
    actor,
    via: 'system',
    action: 'token.revoke',
    subject: `token:${token.name}`,
    before: { revokedAt: token.revokedAt },
    after: { revokedAt: revoked?.revokedAt ?? null },
    result: 'ok',
    details: { tool: 'devsys token revoke' },
  })
  io.out(`revoked ${token.name} (id ${token.id}) at ${revoked?.revokedAt}`)
  return 0
}

function parse(rest: string[]) {
  return parseArgs({
    args: rest,
    allowPositionals: false,
    options: {
      name: { type: 'string' },
      role: { type: 'string' },
      repo: { type: 'string', multiple: true },
      env: { type: 'string', multiple: true },
      'expires-in-days': { type: 'string' },
      'expires-at': { type: 'string' },
      'no-expiry': { type: 'boolean' },
    },
  })
}

/** One line per token: id, name, role, scope, expiry, last use, state. */
function describe(t: ApiToken, now: number): string {
  const state =
    t.revokedAt !== null
      ? `revoked ${t.revokedAt}`
      : t.expiresAt !== null && Date.parse(t.expiresAt) <= now
        ? `expired ${t.expiresAt}`
        : 'active'
  return [
    `${t.id}\t${t.name}\t${t.role}`,
    `repos=${t.repos.join(',')}`,
    `envs=${t.environments.join(',')}`,
    `expires=${t.expiresAt ?? 'never'}`,
    `last-used=${t.lastUsedAt ?? 'never'}`,
    state,
  ].join('\t')
}

function usageError(err: Out, message: string): number {
  err(`${message}\nusage:\n${TOKEN_USAGE}`)
  return 2
}
