/**
 * DevSys started in the test's own process (startDevsys) as an operator would configure it, and
 * webhooks sent to it signed as GitHub signs them.
 */
import { createHmac, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { afterEach } from 'vitest'
import { type Devsys, startDevsys } from '../../src/boot.js'
import { testLogger, testPrivateKey } from './github.js'
import { httpRequest } from './http.js'
import { freePort } from './services.js'

export interface BootedDevsys {
  /** A fresh DATA_DIR, removed after the test. */
  newDataDir(): string
  /**
   * Starts DevSys on loopback on a free port with app credentials and WEBHOOK_SECRET, a fresh
   * DATA_DIR unless `env` names one, and `env` over that; it is stopped after the test.
   */
  start(env?: Record<string, string>, opts?: { log?: Logger }): Promise<Devsys>
}

/** Registers an afterEach that stops what `start` started and removes its data folders. */
export function useDevsys(secret: string, prefix = 'devsys-boot-'): BootedDevsys {
  const running: Devsys[] = []
  const dirs: string[] = []
  afterEach(async () => {
    for (const devsys of running.splice(0)) await devsys.stop()
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })
  const newDataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    dirs.push(dir)
    return dir
  }
  return {
    newDataDir,
    async start(env = {}, opts = {}) {
      const devsys = await startDevsys({
        env: {
          DATA_DIR: env.DATA_DIR ?? newDataDir(),
          HOST: '127.0.0.1',
          PORT: String(await freePort()),
          APP_ID: '1',
          PRIVATE_KEY: testPrivateKey(),
          WEBHOOK_SECRET: secret,
          ...env,
        },
        log: opts.log ?? testLogger(),
      })
      running.push(devsys)
      return devsys
    },
  }
}

/** POSTs `payload` to DevSys's webhook path as GitHub would: signed with `secret`, a delivery id. */
export function sendSignedWebhook(
  port: number,
  secret: string,
  event: string,
  payload: object,
  delivery: string = randomUUID(),
) {
  const body = JSON.stringify(payload)
  return httpRequest(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
  })
}
