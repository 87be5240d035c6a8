import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type AppConfig, loadEnv } from '../../src/config/load-env.js'

// A key made for this run only (none is committed), written where PRIVATE_KEY_PATH can read it.
const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string
const KEY_PATH = join(mkdtempSync(join(tmpdir(), 'devsys-env-')), 'app.pem')
writeFileSync(KEY_PATH, PEM)

function errorsOf(env: Record<string, string | undefined>): string[] {
  const result = loadEnv(env)
  if (result.ok) throw new Error('expected errors')
  return result.errors
}

const DEFAULTS: AppConfig = {
  webhookPath: '/api/github/webhooks',
  port: 3000,
  host: 'localhost',
  dashboardUrl: 'http://localhost:3000',
  logLevel: 'info',
  logFormat: 'auto',
  dataDir: resolve('.data'),
  workerConcurrency: 2,
  jobMaxAttempts: 5,
  jobLeaseMs: 30000,
  requestTimeoutMs: 30000,
  role: 'all',
  queues: ['generate', 'test', 'deploy', 'monitor'],
  shutdownGraceMs: 10000,
  redeliveryIntervalSeconds: 300,
  storeSync: 'NORMAL',
  maxManifestBytes: 1048576,
  deploy: {
    serveLocal: true,
    php: { container: 'devsys-php', url: 'http://127.0.0.1:8080' },
    ssh: { runCompose: false, allow: [] },
  },
  acceptanceAllowedHosts: { names: [], cidrs: [] },
  agent: {},
  notify: { destinations: [], allowedHosts: { names: [], cidrs: [] } },
}

describe('loadEnv', () => {
  it('reads the dashboard sign-in (client id and secret, both or neither) and DASHBOARD_URL', () => {
    const both = loadEnv({
      GITHUB_CLIENT_ID: 'Iv1.abc',
      GITHUB_CLIENT_SECRET: 'shh-0123456789',
      DASHBOARD_URL: 'https://devsys.example.com',
    })
    expect(both).toMatchObject({
      ok: true,
      config: {
        oauth: { clientId: 'Iv1.abc', clientSecret: 'shh-0123456789' },
        dashboardUrl: 'https://devsys.example.com',
      },
    })
    const errors = errorsOf({ GITHUB_CLIENT_ID: 'Iv1.abc', DASHBOARD_URL: 'https://x.test/path' })
    expect(errors.join('\n')).toMatch(/GITHUB_CLIENT_SECRET: is unset while its pair is set/)
    expect(errors.join('\n')).toMatch(/DASHBOARD_URL: .*scheme and host/)
    expect(errorsOf({ GITHUB_CLIENT_SECRET: 'shh-0123456789' }).join('\n')).not.toContain('shh-')
  })

  it('gives defaults for an empty environment, ignoring unrelated and empty variables', () => {
    expect(loadEnv({ PATH: '/usr/bin', PORT: '', HOME: '/root' })).toEqual({
      ok: true,
      config: DEFAULTS,
    })
  })

  it('makes a relative DATA_DIR absolute against the working directory, once', () => {
    const result = loadEnv({ DATA_DIR: 'var/devsys' })
    expect(result.ok && result.config.dataDir).toBe(join(process.cwd(), 'var/devsys'))
    const defaults = loadEnv({})
    expect(defaults.ok && defaults.config.dataDir).toBe(join(process.cwd(), '.data'))
  })

  it('converts every variable to its type', () => {
    const result = loadEnv({
      APP_ID: '12345',
      PRIVATE_KEY_PATH: KEY_PATH,
      WEBHOOK_SECRET: 'shh',
      WEBHOOK_PATH: '/hooks',
      PORT: '8080',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      DATA_DIR: '/var/lib/devsys',
      MANAGER_API_TOKEN: '0123456789abcdef',
      GHE_HOST: 'github.example.com',
      GHE_PROTOCOL: 'http',
      WORKER_CONCURRENCY: '4',
      JOB_MAX_ATTEMPTS: '3',
      JOB_LEASE_MS: '60000',
      REQUEST_TIMEOUT_MS: '5000',
      DEVSYS_WORKER: 'off',
      SHUTDOWN_GRACE_MS: '2500',
      REDELIVERY_INTERVAL_SECONDS: '0',
      STORE_SYNC: 'full',
      MAX_MANIFEST_BYTES: '2048',
      LOCAL_DEPLOY_SERVE: 'off',
      PHP_DEPLOY_CONTAINER: 'blog-php',
      PHP_DEPLOY_URL: 'http://127.0.0.1:9090',
      EXTERNAL_DEPLOY_SSH_KEY_PATH: '/etc/devsys/deploy_key',
      EXTERNAL_DEPLOY_KNOWN_HOSTS: '/etc/devsys/known_hosts',
      EXTERNAL_DEPLOY_RUN_COMPOSE: 'true',
      ACCEPTANCE_ALLOWED_HOSTS: ' Staging.Internal, 10.20.0.0/16,127.0.0.1, [::1], fd00::/8',
      AGENT_BASE_URL: 'http://127.0.0.1:11434/v1',
      AGENT_API_KEY: 'sk-local-0123456789',
      AGENT_MODEL: 'qwen2.5-coder:32b',
      DATABASE_URL: 'postgresql://devsys:s3cret-pass@db.internal:5432/devsys',
      NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/devsys',
      NOTIFY_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      NOTIFY_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/xyz',
      NOTIFY_SMTP_URL: 'smtps://devsys:mail-pass@smtp.example.com:465',
      NOTIFY_EMAIL_FROM: 'DevSys <devsys@example.com>',
      NOTIFY_EMAIL_TO: 'ops@example.com, dev@example.com',
      NOTIFY_ALLOWED_HOSTS: 'hooks.internal, 10.30.0.0/16',
    })
    expect(result).toEqual({
      ok: true,
      config: {
        appId: 12345,
        privateKey: PEM,
        webhookSecret: 'shh',
        webhookPath: '/hooks',
        port: 8080,
        // HOST=0.0.0.0 listens everywhere; people reach it on this machine as localhost.
        dashboardUrl: 'http://localhost:8080',
        host: '0.0.0.0',
        logLevel: 'debug',
        logFormat: 'json',
        dataDir: '/var/lib/devsys',
        managerApiToken: '0123456789abcdef',
        gheHost: 'github.example.com',
        gheProtocol: 'http',
        workerConcurrency: 4,
        jobMaxAttempts: 3,
        jobLeaseMs: 60000,
        requestTimeoutMs: 5000,
        // DEVSYS_WORKER=off, deprecated, means a receiver.
        role: 'receiver',
        queues: ['generate', 'test', 'deploy', 'monitor'],
        shutdownGraceMs: 2500,
        redeliveryIntervalSeconds: 0,
        databaseUrl: 'postgresql://devsys:s3cret-pass@db.internal:5432/devsys',
        storeSync: 'FULL',
        maxManifestBytes: 2048,
        deploy: {
          serveLocal: false,
          php: { container: 'blog-php', url: 'http://127.0.0.1:9090' },
          ssh: {
            privateKeyPath: '/etc/devsys/deploy_key',
            knownHostsPath: '/etc/devsys/known_hosts',
            runCompose: true,
            allow: [],
          },
        },
        acceptanceAllowedHosts: {
          names: ['staging.internal'],
          cidrs: ['10.20.0.0/16', '127.0.0.1/32', '::1/128', 'fd00::/8'],
        },
        agent: {
          baseUrl: 'http://127.0.0.1:11434/v1',
          apiKey: 'sk-local-0123456789',
          model: 'qwen2.5-coder:32b',
        },
        notify: {
          destinations: [
            {
              name: 'webhook',
              channel: 'webhook',
              url: 'https://hooks.example.com/devsys',
              secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
            },
            { name: 'slack', channel: 'slack', url: 'https://hooks.slack.com/services/T0/B0/xyz' },
            {
              name: 'email',
              channel: 'email',
              smtpUrl: 'smtps://devsys:mail-pass@smtp.example.com:465',
              from: 'DevSys <devsys@example.com>',
              to: ['ops@example.com', 'dev@example.com'],
            },
          ],
          allowedHosts: { names: ['hooks.internal'], cidrs: ['10.30.0.0/16'] },
        },
      },
    })
  })

  it('refuses a notification channel configured by halves, and a bad webhook secret, hiding secrets', () => {
    expect(
      errorsOf({
        NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/devsys',
        NOTIFY_SMTP_URL: 'smtp://smtp.example.com',
        NOTIFY_EMAIL_TO: 'ops@example.com',
      }),
    ).toEqual([
      'NOTIFY_WEBHOOK_SECRET: is not set, but NOTIFY_WEBHOOK_URL is; the webhook destination needs NOTIFY_WEBHOOK_URL, NOTIFY_WEBHOOK_SECRET together (or none of them)',
      'NOTIFY_EMAIL_FROM: is not set, but NOTIFY_SMTP_URL and NOTIFY_EMAIL_TO are; the email destination needs NOTIFY_SMTP_URL, NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO together (or none of them)',
    ])
    const [secret] = errorsOf({
      NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/devsys',
      NOTIFY_WEBHOOK_SECRET: 'plain-secret-value',
    })
    expect(secret).toMatch(
      /^NOTIFY_WEBHOOK_SECRET: is \(value hidden\), which is not in the expected form; write whsec_/,
    )
    expect(secret).not.toContain('plain-secret-value')
  })

  it('refuses an AGENT_BASE_URL that is no http(s) base URL, without showing AGENT_API_KEY', () => {
    expect(errorsOf({ AGENT_BASE_URL: 'api.openai.com/v1', AGENT_API_KEY: '' })).toEqual([
      'AGENT_BASE_URL: is "api.openai.com/v1", which is not in the expected form; write an http:// or https:// base URL without a query, e.g. https://api.openai.com/v1',
    ])
  })

  it('refuses a DATABASE_URL that is no postgres:// URL, without showing it (it holds a password)', () => {
    for (const url of ['mysql://root:hunter2-pass@db/devsys', 'db.internal:5432/devsys']) {
      const errors = errorsOf({ DATABASE_URL: url })
      expect(errors).toEqual([
        'DATABASE_URL: is (value hidden), which is not in the expected form; write a postgres:// or postgresql:// URL, e.g. postgres://devsys:PASSWORD@db.internal:5432/devsys',
      ])
    }
    expect(loadEnv({ DATABASE_URL: 'postgres://localhost/devsys' })).toMatchObject({
      ok: true,
      config: { databaseUrl: 'postgres://localhost/devsys' },
    })
  })

  it('takes a redis:// or rediss:// REDIS_URL and refuses others without showing them (they hold a password)', () => {
    for (const url of ['http://:hunter2-pass@cache/0', 'cache.internal:6379']) {
      expect(errorsOf({ REDIS_URL: url })).toEqual([
        'REDIS_URL: is (value hidden), which is not in the expected form; write a redis:// or rediss:// URL, e.g. redis://:PASSWORD@cache.internal:6379',
      ])
    }
    for (const url of ['redis://:s3cret-pass@cache.internal:6379/0', 'rediss://cache.internal']) {
      expect(loadEnv({ REDIS_URL: url })).toMatchObject({ ok: true, config: { redisUrl: url } })
    }
    const unset = loadEnv({})
    expect(unset.ok).toBe(true)
    expect(unset.ok && 'redisUrl' in unset.config).toBe(false)
  })

  it('refuses ACCEPTANCE_ALLOWED_HOSTS entries that are no host, address or CIDR range', () => {
    expect(
      errorsOf({ ACCEPTANCE_ALLOWED_HOSTS: 'ok.example, http://x.example/, 10.0.0.0/33, 127.1' }),
    ).toEqual([
      'ACCEPTANCE_ALLOWED_HOSTS: has "http://x.example/", "10.0.0.0/33", "127.1", which is not a host name, address or CIDR range; list hosts separated by commas, e.g. staging.internal, 10.20.0.0/16',
    ])
  })

  it('reads EXTERNAL_DEPLOY_SSH_ALLOW entries separated by commas or whitespace', () => {
    const result = loadEnv({
      EXTERNAL_DEPLOY_SSH_ALLOW:
        'octo/*=deploy@Web1.Example.com:2222/srv/sites/, octo/blog=web2.example.com/srv\n  */*=[::1]/var/www',
    })
    expect(result.ok && result.config.deploy.ssh.allow).toEqual([
      {
        text: 'octo/*=deploy@Web1.Example.com:2222/srv/sites/',
        repos: 'octo/*',
        user: 'deploy',
        host: 'web1.example.com',
        port: 2222,
        root: '/srv/sites',
      },
      {
        text: 'octo/blog=web2.example.com/srv',
        repos: 'octo/blog',
        host: 'web2.example.com',
        port: 22,
        root: '/srv',
      },
      { text: '*/*=[::1]/var/www', repos: '*/*', host: '::1', port: 22, root: '/var/www' },
    ])
  })

  it('refuses EXTERNAL_DEPLOY_SSH_ALLOW entries that do not parse, naming each', () => {
    expect(
      errorsOf({
        EXTERNAL_DEPLOY_SSH_ALLOW:
          'octo/*=deploy@ok.example/srv, web1.example.com/srv, octo=h.example/srv, octo/a=h.example:99999/srv, octo/a=h.example/srv/../etc, octo/a=h.example:22, octo/a=Root@h.example/srv',
      }),
    ).toEqual([
      'EXTERNAL_DEPLOY_SSH_ALLOW: has "web1.example.com/srv", "octo=h.example/srv", "octo/a=h.example:99999/srv", "octo/a=h.example/srv/../etc", "octo/a=h.example:22", "octo/a=Root@h.example/srv", which is not repoGlob=[user@]host[:port]/absolute/folder; separate entries with commas or spaces, e.g. octo/*=deploy@web1.example.com:22/srv/sites',
    ])
  })

  it('accepts a private key with escaped newlines or base64-encoded, as Probot does', () => {
    const base = { APP_ID: '1', WEBHOOK_SECRET: 'shh' }
    const escaped = loadEnv({ ...base, PRIVATE_KEY: PEM.replaceAll('\n', '\\n') })
    const encoded = loadEnv({ ...base, PRIVATE_KEY: Buffer.from(PEM).toString('base64') })
    expect(escaped.ok && escaped.config.privateKey).toBe(PEM)
    expect(encoded.ok && encoded.config.privateKey).toBe(PEM)
  })

  it('gives one message per bad variable, naming it, its value and what to set', () => {
    expect(
      errorsOf({
        PORT: 'eighty',
        WORKER_CONCURRENCY: '64',
        JOB_MAX_ATTEMPTS: '2.5',
        LOG_LEVEL: 'loud',
        GHE_HOST: 'https://github.example.com',
        DEVSYS_WORKER: 'yes',
      }),
    ).toEqual([
      'PORT: is "eighty", which is not a whole number; set PORT to a whole number from 1 to 65535 (TCP port of the HTTP server.)',
      'LOG_LEVEL: is "loud", which is not allowed; set LOG_LEVEL to one of: trace, debug, info, warn, error, fatal, silent',
      'GHE_HOST: is "https://github.example.com", which is not in the expected form; write only the host name (and optional :port), without https:// or a path, e.g. github.example.com',
      'WORKER_CONCURRENCY: is "64", which is out of range; set WORKER_CONCURRENCY to a whole number from 1 to 32 (How many jobs this process runs at the same time.)',
      'JOB_MAX_ATTEMPTS: is "2.5", which is not a whole number; set JOB_MAX_ATTEMPTS to a whole number from 1 to 20 (How many times a failing job is tried before it fails for good.)',
      'DEVSYS_WORKER: is "yes", which is not allowed; set DEVSYS_WORKER to one of: on, off',
    ])
  })

  it('reads the role and its queues, in their canonical order', () => {
    const app = { APP_ID: '7', PRIVATE_KEY_PATH: KEY_PATH, WEBHOOK_SECRET: 'shh' }
    const worker = loadEnv({ ...app, DEVSYS_ROLE: 'worker', DEVSYS_QUEUES: ' deploy, test ,test' })
    expect(worker.ok && [worker.config.role, worker.config.queues]).toEqual([
      'worker',
      ['test', 'deploy'],
    ])
    const receiver = loadEnv({ DEVSYS_ROLE: 'receiver' })
    expect(receiver.ok && receiver.config.role).toBe('receiver')
    const alias = loadEnv({ DEVSYS_WORKER: 'off', DEVSYS_ROLE: 'receiver' })
    expect(alias.ok && alias.config.role).toBe('receiver')
    const on = loadEnv({ ...app, DEVSYS_WORKER: 'on', DEVSYS_ROLE: 'worker' })
    expect(on.ok && on.config.role).toBe('worker')
  })

  it('says how to fix a bad role, an unknown queue or a contradiction', () => {
    expect(errorsOf({ DEVSYS_ROLE: 'manager' })).toEqual([
      'DEVSYS_ROLE: is "manager", which is not allowed; set DEVSYS_ROLE to one of: all, receiver, worker',
    ])
    expect(errorsOf({ DEVSYS_ROLE: 'all', DEVSYS_QUEUES: 'test,build,Deploy' })).toEqual([
      'DEVSYS_QUEUES: has "build", "Deploy", which is not a queue; list queues separated by commas, from: generate, test, deploy, monitor',
    ])
    expect(errorsOf({ DEVSYS_QUEUES: ' , ' })).toEqual([
      'DEVSYS_QUEUES: names no queue; list queues separated by commas, from: generate, test, deploy, monitor, or unset it for all of them',
    ])
    expect(errorsOf({ DEVSYS_ROLE: 'receiver', DEVSYS_QUEUES: 'test' })).toEqual([
      'DEVSYS_QUEUES: is set, but a receiver (DEVSYS_ROLE=receiver) runs no jobs; unset DEVSYS_QUEUES, or set DEVSYS_ROLE=worker to run them',
    ])
    expect(errorsOf({ DEVSYS_ROLE: 'worker' })).toEqual([
      'DEVSYS_ROLE: is "worker", but APP_ID is not set: every job talks to GitHub as the App; set APP_ID and PRIVATE_KEY (register the App first through a receiver\'s setup page), or set DEVSYS_ROLE=all',
    ])
    expect(errorsOf({ DEVSYS_WORKER: 'off', DEVSYS_ROLE: 'all' })).toEqual([
      'DEVSYS_WORKER: is "off", which means DEVSYS_ROLE=receiver, but DEVSYS_ROLE is "all"; DEVSYS_WORKER is deprecated: unset it and keep DEVSYS_ROLE',
    ])
  })

  it('never prints a secret value', () => {
    const secrets = {
      MANAGER_API_TOKEN: 'short-secret',
      PRIVATE_KEY: 'not-a-key-but-secret',
      APP_ID: '7',
    }
    const errors = errorsOf(secrets)
    expect(errors).toEqual([
      'MANAGER_API_TOKEN: is (value hidden), which is shorter than 16 characters; set MANAGER_API_TOKEN to a random value of at least 16 characters, e.g. from `openssl rand -hex 32`',
      "PRIVATE_KEY: is (value hidden), which is not a PEM private key; paste the .pem file's contents (newlines may be written as \\n) or set PRIVATE_KEY_PATH to the file",
      "WEBHOOK_SECRET: is not set; set it to the App's webhook secret so that webhook signatures are verified",
    ])
    for (const value of Object.values(secrets).slice(0, 2)) {
      expect(errors.join('\n')).not.toContain(value)
    }
  })

  it('requires APP_ID and a private key together', () => {
    expect(errorsOf({ APP_ID: '1', WEBHOOK_SECRET: 'shh' })).toEqual([
      'APP_ID: is set but no private key is; also set PRIVATE_KEY or PRIVATE_KEY_PATH',
    ])
    expect(errorsOf({ PRIVATE_KEY_PATH: KEY_PATH })).toEqual([
      "PRIVATE_KEY_PATH: is set but APP_ID is not; also set APP_ID (the number on the App's settings page)",
    ])
    expect(
      errorsOf({
        APP_ID: '1',
        WEBHOOK_SECRET: 'shh',
        PRIVATE_KEY: PEM,
        PRIVATE_KEY_PATH: KEY_PATH,
      }),
    ).toEqual(['PRIVATE_KEY_PATH: is set together with PRIVATE_KEY; set only one of them'])
    expect(errorsOf({ GHE_PROTOCOL: 'https' })).toEqual([
      'GHE_PROTOCOL: is set but GHE_HOST is not; set GHE_HOST or unset GHE_PROTOCOL',
    ])
  })

  it('checks that PRIVATE_KEY_PATH is a readable PEM file', () => {
    const base = { APP_ID: '1', WEBHOOK_SECRET: 'shh' }
    expect(errorsOf({ ...base, PRIVATE_KEY_PATH: '/nonexistent/app.pem' })).toEqual([
      `PRIVATE_KEY_PATH: is "/nonexistent/app.pem", which cannot be read (ENOENT); set it to the path of the App's .pem file`,
    ])
    const notPem = new URL('../../package.json', import.meta.url).pathname
    expect(errorsOf({ ...base, PRIVATE_KEY_PATH: notPem })).toEqual([
      `PRIVATE_KEY_PATH: is ${JSON.stringify(notPem)}, which does not hold a PEM private key; point it to the .pem file downloaded from the App's settings page`,
    ])
  })
})
