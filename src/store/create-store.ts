import type { Logger } from 'pino'
import type { AppConfig } from '../config/load-env.js'
import { describeDatabase } from './open-postgres-pool.js'
import { openPostgresStore } from './postgres-store.js'
import { openSqliteStore } from './sqlite-store.js'
import type { Store } from './store.js'

/** The store implementations DevSys has; a new one is a file and a case below. */
export type StoreKind = 'sqlite' | 'postgres'

/** What the store factory reads from the configuration. */
export type StoreConfig = Pick<AppConfig, 'dataDir' | 'storeSync' | 'databaseUrl'>

/** Which store the configuration asks for: PostgreSQL when DATABASE_URL is set, else SQLite. */
export function storeKind(config: StoreConfig): StoreKind {
  return config.databaseUrl === undefined ? 'sqlite' : 'postgres'
}

/**
 * Opens the store the configuration names: PostgreSQL at DATABASE_URL (connected and migrated
 * before this resolves), or SQLite under DATA_DIR (STORE_SYNC).
 */
export async function createStore(config: StoreConfig, log: Logger): Promise<Store> {
  const kind = storeKind(config)
  switch (kind) {
    case 'sqlite':
      return openSqliteStore({ dataDir: config.dataDir, log, synchronous: config.storeSync })
    case 'postgres': {
      const url = config.databaseUrl as string
      const store = await openPostgresStore({ url, log })
      log.info(
        { database: describeDatabase(url), dataDir: config.dataDir },
        'the store is in PostgreSQL',
      )
      return store
    }
  }
}
