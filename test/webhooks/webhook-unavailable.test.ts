/**
 * A webhook whose job cannot be stored because the queue's database is down is answered 503
 * with Retry-After, so it counts as failed (and is redelivered), never 2xx and lost; any other
 * failure stays a 500.
 */
import { createHmac, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AppDeps } from '../../src/app-deps.js'
import { loadEnv } from '../../src/config/load-env.js'
import { createLogger } from '../../src/logger.js'
import { QueueUnavailableError } from '../../src/queue/queue-unavailable.js'
import {
  type Receiver,
  startReceiver,
  WEBHOOK_RETRY_AFTER_SECONDS,
} from '../../src/start-receiver.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import { ENQUEUE_TIMEOUT_MS } from '../../src/webhooks/enqueue-trigger.js'
import { testPrivateKey } from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'
import { freePort } from '../helpers/services.js'

const SECRET = 'webhook-unavailable-secret'
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A receiver whose queue answers every enqueue with `failure` (or never); its log lines. */
async function receiverFailingWith(failure: Error | 'never') {
  const dataDir = mkdtempSync(join(tmpdir(), 'devsys-unavailable-'))
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
  const loaded = loadEnv({
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    APP_ID: '1',
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET: SECRET,
  })
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
  const lines: string[] = []
  const log = createLogger('info', { write: (line: string) => lines.push(line) })
  const store = openSqliteStore({ dataDir, log })
  cleanups.push(() => store.close())
  const deps: AppDeps = {
    config: loaded.config,
    store,
    queue: {
      enqueue: () => (failure === 'never' ? new Promise(() => {}) : Promise.reject(failure)),
      listJobs: async () => [],
      countJobs: async () => [],
    },
    log,
  }
  const receiver: Receiver = await startReceiver(deps, { credentials: true, setupToken: undefined })
  cleanups.push(async () => {
    receiver.http.closeAllConnections()
    await receiver.stop()
  })
  return { port: loaded.config.port, lines }
}

function sendIssue(port: number, delivery: string) {
  const body = JSON.stringify(examplePayload('issues', 'labeled'))
  return httpRequest(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    },
    body,
  })
}

describe('a webhook whose job cannot be stored', () => {
  it('is answered 503 with Retry-After when the queue’s database is unavailable', async () => {
    const { port, lines } = await receiverFailingWith(
      new QueueUnavailableError('connect ECONNREFUSED 127.0.0.1:5432'),
    )
    const delivery = randomUUID()
    const answer = await sendIssue(port, delivery)
    expect(answer.status).toBe(503)
    expect(answer.headers['retry-after']).toBe(String(WEBHOOK_RETRY_AFTER_SECONDS))
    const { error } = answer.json<{ error: string }>()
    expect(error).toContain(`DevSys could not store delivery ${delivery} (issues)`)
    expect(error).toContain("the job queue's database is unavailable (connect ECONNREFUSED")
    expect(error).toContain('Nothing was stored')
    expect(lines.join('')).toContain('event not stored: the queue is unavailable; answering 503')
  })

  it('is answered 503 when the queue does not answer in time, before Probot would answer 202', {
    timeout: 20_000,
  }, async () => {
    const { port } = await receiverFailingWith('never')
    const delivery = randomUUID()
    const sent = Date.now()
    const answer = await sendIssue(port, delivery)
    // Probot answers 202 ("still processing") after 9 s: that would acknowledge a lost delivery.
    expect(answer.status).toBe(503)
    expect(Date.now() - sent).toBeGreaterThanOrEqual(ENQUEUE_TIMEOUT_MS - 100)
    expect(Date.now() - sent).toBeLessThan(9_000)
    expect(answer.headers['retry-after']).toBe(String(WEBHOOK_RETRY_AFTER_SECONDS))
    expect(answer.json<{ error: string }>().error).toContain(
      `the job queue's database is unavailable (no answer within ${ENQUEUE_TIMEOUT_MS / 1000} s)`,
    )
  })

  it('is answered 500 without Retry-After for any other failure', async () => {
    const { port } = await receiverFailingWith(new Error('a bug in the queue'))
    const answer = await sendIssue(port, randomUUID())
    expect(answer.status).toBe(500)
    expect(answer.headers['retry-after']).toBeUndefined()
    expect(answer.json<{ error: string }>().error).toContain('a bug in the queue')
  })
})
