import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { type Devsys, startDevsys } from '../../src/boot.js'
import { createLogger } from '../../src/logger.js'
import { forgetSecrets, redact, registerSecret } from '../../src/secrets/redact.js'
import { testPrivateKey } from '../helpers/github.js'

const WEBHOOK_SECRET = 'whsec-log-redaction-0123456789'
const API_TOKEN = 'manager-api-token-log-0123456789'

/** A destination that keeps every line written to it. */
function collect(): { stream: Writable; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'))
      done()
    },
  })
  return { stream, lines }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

let devsys: Devsys | undefined
const dirs: string[] = []
afterEach(async () => {
  await devsys?.stop()
  devsys = undefined
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  forgetSecrets()
})

describe('log redaction', () => {
  it('redacts every line of the logger, from any field, message, error or child logger', () => {
    registerSecret(WEBHOOK_SECRET)
    registerSecret(testPrivateKey())
    const { stream, lines } = collect()
    const log = createLogger('debug', stream)
    log.info({ body: { summary: `got ${WEBHOOK_SECRET}` } }, `message with ${WEBHOOK_SECRET}`)
    log.child({ name: 'github' }).debug({ key: testPrivateKey() }, 'a key in a request body')
    log.error({ err: new Error(`git said ${WEBHOOK_SECRET}`) }, 'failed')
    const text = lines.join('')
    expect(lines).toHaveLength(3)
    expect(text).not.toContain(WEBHOOK_SECRET)
    for (const line of testPrivateKey().split('\n').slice(1, -2)) expect(text).not.toContain(line)
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      msg: 'message with [redacted]',
      body: { summary: 'got [redacted]' },
    })
  })

  it('DevSys at start knows every configured secret, ssh key files included, and warns about ones too short', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devsys-secrets-'))
    dirs.push(dir)
    const deployKey = join(dir, 'deploy_key')
    const runnerKey = join(dir, 'runner_key')
    const deployKeyText =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n'
    const runnerKeyText =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nQyNTUxOQAAACBDeploymentRunnerKeyLineThatIsSecret0123456789abcdefghijklm\n-----END OPENSSH PRIVATE KEY-----\n'
    writeFileSync(deployKey, deployKeyText, { mode: 0o600 })
    writeFileSync(runnerKey, runnerKeyText, { mode: 0o600 })
    const { stream, lines } = collect()
    devsys = await startDevsys({
      env: {
        DATA_DIR: join(dir, 'data'),
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        DEVSYS_WORKER: 'off',
        APP_ID: '1',
        PRIVATE_KEY: testPrivateKey().replaceAll('\n', '\\n'),
        WEBHOOK_SECRET: 'short',
        MANAGER_API_TOKEN: API_TOKEN,
        EXTERNAL_DEPLOY_SSH_KEY_PATH: deployKey,
        REMOTE_SSH_HOST: '127.0.0.1',
        REMOTE_SSH_USER: 'runner',
        REMOTE_SSH_KEY_PATH: runnerKey,
        AGENT_BASE_URL: 'http://127.0.0.1:9/v1',
        AGENT_API_KEY: 'sk-agent-key-4e1f0c77b2a9',
      },
      log: createLogger('info', stream),
    })
    const deployLine = deployKeyText.split('\n')[1] ?? ''
    const runnerLine = runnerKeyText.split('\n')[1] ?? ''
    const pemLine = testPrivateKey().split('\n')[4] ?? ''
    expect(
      redact(`${API_TOKEN} ${pemLine} ${deployLine} ${runnerLine} sk-agent-key-4e1f0c77b2a9`),
    ).toBe('[redacted] [redacted] [redacted] [redacted] [redacted]')
    // The App key as the environment held it (escaped newlines) is redacted too.
    expect(redact(testPrivateKey().replaceAll('\n', '\\n'))).toBe('[redacted]')
    expect(lines.join('')).toContain('WEBHOOK_SECRET is shorter than 8 characters')
  })
})
