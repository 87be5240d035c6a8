/**
 * DevSys as its own process (`node --import tsx src/main.ts`), configured only through its
 * environment as an operator would, and driven through HTTP: signed webhooks in, health checks.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type HttpAnswer, httpRequest } from '../helpers/http.js'
import { freePort } from '../helpers/services.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface DevsysProcess {
  port: number
  dataDir: string
  /** WEBHOOK_SECRET, for tests that check it never leaks. */
  webhookSecret: string
  /** The App's private key (PEM), for tests that check it never leaks. */
  privateKey: string
  /** Where the key was written when `privateKeyFile` was asked for (PRIVATE_KEY_PATH). */
  privateKeyPath: string | undefined
  /** Everything the process wrote to stdout and stderr so far (its JSON log lines). */
  output(): string
  /** Sends `payload` as GitHub would: signed with the webhook secret, a fresh delivery id. */
  sendWebhook(event: string, payload: object, delivery?: string): Promise<HttpAnswer>
  /** SIGTERM, then SIGKILL if it has not exited within 15 s. Resolves with the exit code. */
  stop(): Promise<number | null>
  /** SIGKILL, as a crash or the OOM killer ends it: no shutdown at all. Resolves once it is gone. */
  kill(): Promise<NodeJS.Signals | null>
  /** Its process id. */
  pid: number
}

export interface DevsysProcessOptions {
  /** `host:port` of the GitHub stand-in (GHE_HOST; spoken to over http). */
  gheHost: string
  /** More environment (e.g. ACCEPTANCE_ALLOWED_HOSTS); wins over the defaults here. */
  env?: Record<string, string>
  dataDir?: string
  /**
   * Give DevSys its key as a file (PRIVATE_KEY_PATH, mode 0600, in a folder of its own outside
   * DATA_DIR) instead of in PRIVATE_KEY, as operators who keep keys out of the environment do.
   */
  privateKeyFile?: boolean
  /**
   * Runs DevSys under this host name, in a UTS namespace of its own (`unshare --uts`, needs
   * root), as if on another machine: its job leases name that host, so other processes cannot
   * tell it is gone and wait for its leases to expire.
   */
  hostname?: string
}

/** Starts DevSys and waits until it answers /api/health (60 s at most). */
export async function startDevsysProcess(opts: DevsysProcessOptions): Promise<DevsysProcess> {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  })
  const secret = randomBytes(16).toString('hex')
  const port = await freePort()
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'devsys-e2e-data-'))
  let privateKeyPath: string | undefined
  if (opts.privateKeyFile) {
    privateKeyPath = join(mkdtempSync(join(tmpdir(), 'devsys-e2e-key-')), 'app.private-key.pem')
    writeFileSync(privateKeyPath, privateKey, { mode: 0o600 })
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    APP_ID: '1',
    ...(privateKeyPath === undefined
      ? { PRIVATE_KEY: privateKey }
      : { PRIVATE_KEY_PATH: privateKeyPath }),
    WEBHOOK_SECRET: secret,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    GHE_HOST: opts.gheHost,
    GHE_PROTOCOL: 'http',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'debug',
    // The stand-in keeps no webhook delivery log (GET /app/hook/deliveries); redelivery is
    // covered by test/jobs/redeliver-failed*.test.ts.
    REDELIVERY_INTERVAL_SECONDS: '0',
    ...opts.env,
  }
  let output = ''
  const node = [process.execPath, '--import', 'tsx', 'src/main.ts']
  // unshare and sh exec what follows: the child's pid is DevSys's own.
  const [command, ...args] =
    opts.hostname === undefined
      ? node
      : ['unshare', '--uts', '--', 'sh', '-c', 'hostname "$0" && exec "$@"', opts.hostname, ...node]
  const child = spawn(command as string, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))

  await waitForHealth(port, child, () => output)
  return {
    port,
    pid: child.pid as number,
    dataDir,
    webhookSecret: secret,
    privateKey,
    privateKeyPath,
    output: () => output,
    sendWebhook(event, payload, delivery) {
      const body = JSON.stringify(payload)
      const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
      return httpRequest(`http://127.0.0.1:${port}/api/github/webhooks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/e2e',
          'x-github-event': event,
          'x-github-delivery': delivery ?? randomUUID(),
          'x-hub-signature-256': signature,
        },
        body,
      })
    },
    async stop() {
      let code = child.exitCode
      if (code === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        code = await exited
        clearTimeout(timer)
      }
      if (privateKeyPath !== undefined)
        rmSync(dirname(privateKeyPath), { recursive: true, force: true })
      return code
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
      return child.signalCode
    },
  }
}

async function waitForHealth(port: number, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`DevSys exited (${child.exitCode}) before answering:\n${output()}`)
    }
    const health = await httpRequest(`http://127.0.0.1:${port}/api/health`).catch(() => undefined)
    if (health?.status === 200) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  child.kill('SIGKILL')
  throw new Error(`DevSys did not answer /api/health on port ${port} within 60 s:\n${output()}`)
}
