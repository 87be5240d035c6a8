import type { Logger } from 'pino'
import type { AppConfig } from '../config/load-env.js'
import { openSqliteStore } from './sqlite-store.js'
import type { Store } from './store.js'

/** The store implementations DevSys has; a new one is a file and a case below. */
export type StoreKind = 'sqlite'

/** What the store factory reads from the configuration. */
export type StoreConfig = Pick<AppConfig, 'dataDir' | 'storeSync'>

/** Which store the configuration asks for (only the embedded SQLite one so far). */
export function storeKind(_config: StoreConfig): StoreKind {
  return 'sqlite'
}

/** Opens the store the configuration names: SQLite under DATA_DIR (STORE_SYNC). */
export function createStore(config: StoreConfig, log: Logger): Store {
  const kind = storeKind(config)
  switch (kind) {
    case 'sqlite':
      return openSqliteStore({ dataDir: config.dataDir, log, synchronous: config.storeSync })
  }
}
