import type { Pool } from 'pg'
import type { MonitorState } from './monitor-records.js'
import { iso } from './open-postgres-pool.js'

interface Row {
  revision: number
  state: Omit<MonitorState, 'revision'>
}

/** Monitor states of the PostgreSQL store: compare-and-set on the row's revision. */
export class PostgresMonitor {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  async get(repo: string, environment: string): Promise<MonitorState | undefined> {
    const result = await this.pool.query<Row>(
      'SELECT revision, state FROM monitor_states WHERE repo = $1 AND environment = $2',
      [repo, environment],
    )
    const row = result.rows[0]
    return row === undefined ? undefined : fromRow(row)
  }

  async list(): Promise<MonitorState[]> {
    const result = await this.pool.query<Row>(
      'SELECT revision, state FROM monitor_states ORDER BY repo, environment',
    )
    return result.rows.map(fromRow)
  }

  async save(state: MonitorState): Promise<MonitorState | undefined> {
    const { revision, ...rest } = state
    const params = [
      state.repo,
      state.environment,
      JSON.stringify(rest),
      state.nextCheckAt,
      iso(this.now()),
    ]
    const result =
      revision === 0
        ? await this.pool.query(
            `INSERT INTO monitor_states
              (repo, environment, revision, state, next_check_at, updated_at)
              VALUES ($1, $2, 1, $3::json, $4, $5) ON CONFLICT DO NOTHING`,
            params,
          )
        : await this.pool.query(
            `UPDATE monitor_states SET revision = revision + 1, state = $3::json,
                next_check_at = $4, updated_at = $5
              WHERE repo = $1 AND environment = $2 AND revision = $6`,
            [...params, revision],
          )
    return result.rowCount === 1 ? { ...state, revision: revision + 1 } : undefined
  }
}

function fromRow(row: Row): MonitorState {
  return { ...row.state, revision: row.revision }
}
