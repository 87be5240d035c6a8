import type { Pool } from 'pg'
import {
  API_TOKEN_COLUMNS,
  type ApiToken,
  type ApiTokenRow,
  type CreateApiTokenResult,
  type NewApiToken,
  toApiToken,
} from './api-token-records.js'
import { iso } from './open-postgres-pool.js'

/** Named API tokens in PostgreSQL, by the hash of the token. */
export class PostgresApiTokens {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  async create(token: NewApiToken): Promise<CreateApiTokenResult> {
    const result = await this.pool.query<ApiTokenRow>(
      `INSERT INTO api_tokens (name, hash, role, repos, environments, created_by, created_at,
          expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT DO NOTHING RETURNING ${API_TOKEN_COLUMNS}`,
      [
        token.name,
        token.hash,
        token.role,
        JSON.stringify(token.repos),
        JSON.stringify(token.environments),
        token.createdBy,
        iso(this.now()),
        token.expiresAt,
      ],
    )
    const row = result.rows[0]
    return row ? { kind: 'created', token: toApiToken(row) } : { kind: 'name-taken' }
  }

  async findByHash(hash: string): Promise<ApiToken | undefined> {
    const result = await this.pool.query<ApiTokenRow>(
      `SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1`,
      [hash],
    )
    const row = result.rows[0]
    return row && toApiToken(row)
  }

  async list(): Promise<ApiToken[]> {
    const result = await this.pool.query<ApiTokenRow>(
      `SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY id`,
    )
    return result.rows.map(toApiToken)
  }

  async revoke(id: number): Promise<ApiToken | undefined> {
    const result = await this.pool.query<ApiTokenRow>(
      `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2)
        WHERE id = $1 RETURNING ${API_TOKEN_COLUMNS}`,
      [id, iso(this.now())],
    )
    const row = result.rows[0]
    return row && toApiToken(row)
  }

  async touch(id: number): Promise<void> {
    await this.pool.query('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1', [
      id,
      iso(this.now()),
    ])
  }
}
