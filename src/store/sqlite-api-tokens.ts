import type { Database, Statement } from 'better-sqlite3'
import {
  API_TOKEN_COLUMNS,
  type ApiToken,
  type ApiTokenRow,
  type CreateApiTokenResult,
  type NewApiToken,
  toApiToken,
} from './api-token-records.js'
import { iso } from './open-sqlite-database.js'

type Params = Record<string, string | number | null>

/** Named API tokens in SQLite, by the hash of the token. */
export class SqliteApiTokens {
  private readonly s: {
    insert: Statement<Params, ApiTokenRow>
    byHash: Statement<Params, ApiTokenRow>
    list: Statement<Params, ApiTokenRow>
    revoke: Statement<Params, ApiTokenRow>
    touch: Statement<Params>
  }

  constructor(
    db: Database,
    private readonly now: () => number,
  ) {
    this.s = {
      insert: db.prepare(`INSERT INTO api_tokens (name, hash, role, repos, environments,
          created_by, created_at, expires_at)
        VALUES (@name, @hash, @role, @repos, @environments, @createdBy, @now, @expiresAt)
        ON CONFLICT DO NOTHING RETURNING ${API_TOKEN_COLUMNS}`),
      byHash: db.prepare(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE hash = @hash`),
      list: db.prepare(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY id`),
      revoke: db.prepare(`UPDATE api_tokens SET revoked_at = coalesce(revoked_at, @now)
        WHERE id = @id RETURNING ${API_TOKEN_COLUMNS}`),
      touch: db.prepare('UPDATE api_tokens SET last_used_at = @now WHERE id = @id'),
    }
  }

  create(token: NewApiToken): CreateApiTokenResult {
    const row = this.s.insert.get({
      name: token.name,
      hash: token.hash,
      role: token.role,
      repos: JSON.stringify(token.repos),
      environments: JSON.stringify(token.environments),
      createdBy: token.createdBy,
      now: iso(this.now()),
      expiresAt: token.expiresAt,
    })
    return row ? { kind: 'created', token: toApiToken(row) } : { kind: 'name-taken' }
  }

  findByHash(hash: string): ApiToken | undefined {
    const row = this.s.byHash.get({ hash })
    return row && toApiToken(row)
  }

  list(): ApiToken[] {
    return this.s.list.all({}).map(toApiToken)
  }

  revoke(id: number): ApiToken | undefined {
    const row = this.s.revoke.get({ id, now: iso(this.now()) })
    return row && toApiToken(row)
  }

  touch(id: number): void {
    this.s.touch.run({ id, now: iso(this.now()) })
  }
}
