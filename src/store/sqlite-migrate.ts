import type { Database } from 'better-sqlite3'
import { MIGRATIONS, type Migration } from './migrations.js'

/**
 * Applies the migrations this database has not seen, in one immediate transaction, so two
 * processes opening the same file at once cannot both apply a version. Returns the versions
 * applied now.
 */
export function migrate(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
  nowIso: () => string = () => new Date().toISOString(),
): number[] {
  const run = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`)
    const rows = db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all()
    const applied = new Set(rows.map((r) => r.version))
    const known = new Set(migrations.map((m) => m.version))
    const unknown = [...applied].filter((v) => !known.has(v))
    if (unknown.length > 0) {
      throw new Error(
        `The database ${db.name} has schema version(s) ${unknown.join(', ')} that this DevSys ` +
          'does not know: it was written by a newer DevSys. Upgrade DevSys, or point it at ' +
          'another data directory.',
      )
    }
    const record = db.prepare<[number, string, string]>(
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    )
    const done: number[] = []
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue
      db.exec(m.sql)
      record.run(m.version, m.name, nowIso())
      done.push(m.version)
    }
    return done
  })
  return run.immediate()
}
