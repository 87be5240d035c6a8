import type { Database, Statement } from 'better-sqlite3'
import type { MonitorState } from './monitor-records.js'
import { iso } from './open-sqlite-database.js'

interface Row {
  revision: number
  state: string
}

/** Monitor states of the SQLite store. */
export class SqliteMonitor {
  private readonly s: {
    get: Statement<[string, string], Row>
    list: Statement<[], Row>
    insert: Statement<Record<string, string | number | null>>
    update: Statement<Record<string, string | number | null>>
  }

  constructor(
    db: Database,
    private readonly now: () => number,
  ) {
    this.s = {
      get: db.prepare(
        'SELECT revision, state FROM monitor_states WHERE repo = ? AND environment = ?',
      ),
      list: db.prepare('SELECT revision, state FROM monitor_states ORDER BY repo, environment'),
      insert: db.prepare(`INSERT INTO monitor_states
        (repo, environment, revision, state, next_check_at, updated_at)
        VALUES (@repo, @environment, 1, @state, @next, @now) ON CONFLICT DO NOTHING`),
      update: db.prepare(`UPDATE monitor_states SET revision = revision + 1, state = @state,
          next_check_at = @next, updated_at = @now
        WHERE repo = @repo AND environment = @environment AND revision = @revision`),
    }
  }

  get(repo: string, environment: string): MonitorState | undefined {
    const row = this.s.get.get(repo, environment)
    return row === undefined ? undefined : fromRow(row)
  }

  list(): MonitorState[] {
    return this.s.list.all().map(fromRow)
  }

  save(state: MonitorState): MonitorState | undefined {
    const params = {
      repo: state.repo,
      environment: state.environment,
      revision: state.revision,
      state: JSON.stringify({ ...state, revision: undefined }),
      next: state.nextCheckAt,
      now: iso(this.now()),
    }
    const statement = state.revision === 0 ? this.s.insert : this.s.update
    if (statement.run(params).changes !== 1) return undefined
    return { ...state, revision: state.revision + 1 }
  }
}

function fromRow(row: Row): MonitorState {
  return { ...(JSON.parse(row.state) as Omit<MonitorState, 'revision'>), revision: row.revision }
}
