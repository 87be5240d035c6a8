import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApiHandler } from '../../src/api/create-api-handler.js'
import { loadEnv } from '../../src/config/load-env.js'
import { createInProcessQueue } from '../../src/queue/in-process-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { testLogger } from '../helpers/github.js'
import { type HttpAnswer, httpRequest } from '../helpers/http.js'

/** The JSON bodies the manager API answers with, loosely typed for assertions. */
export interface ApiBody {
  result: string
  task: {
    id: string
    status: string
    revision: number
    title: string
    manifest: string
    spec: string
    source: Record<string, unknown>
  }
  tasks: Array<{ id: string }>
  error: {
    code: string
    message: string
    problems: Array<{
      pointer: string
      line: number
      column: number
      message: string
      hint: string
    }>
  }
}

/** The manager API on a loopback port over a real SQLite store in a temporary directory. */
export interface ApiServer {
  url: string
  store: Store
  /** The queue the API enqueues to; no worker runs it, so its jobs stay for tests to inspect. */
  queue: Queue
  /** The API's token (MANAGER_API_TOKEN, TEST_TOKEN unless the test set another). */
  token: string | undefined
  /** Every request that reached the server, as `METHOD /path`. */
  requests: string[]
  /** Sends a request to `path` with the API token, as an authorized tool would. */
  request(path: string, init?: Parameters<typeof httpRequest>[1]): Promise<HttpAnswer>
  close(): Promise<void>
}

/** The token test servers use unless a test sets MANAGER_API_TOKEN itself. */
export const TEST_TOKEN = 'test-manager-token-0123456789'

export async function startApiServer(env: Record<string, string> = {}): Promise<ApiServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'devsys-api-'))
  const loaded = loadEnv({ DATA_DIR: dataDir, MANAGER_API_TOKEN: TEST_TOKEN, ...env })
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
  const store = openSqliteStore({ dataDir })
  const log = testLogger()
  // Never started: jobs the API queues stay queued, for tests to inspect.
  const queue = createInProcessQueue({ jobs: openSqliteJobStore({ dataDir }), handlers: [], log })
  const handler = createApiHandler({ store, queue, config: loaded.config, log })
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  const token = loaded.config.managerApiToken
  return {
    url,
    store,
    queue,
    token,
    requests,
    request: (path, init = {}) =>
      httpRequest(`${url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...init.headers },
      }),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await queue.close()
      await store.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
