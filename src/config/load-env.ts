import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ErrorObject } from 'ajv/dist/2020.js'
import { parseSshAllowList, type SshAllowEntry } from '../deploy/parse-ssh-allow-list.js'
import type { LogFormat } from '../logger.js'
import { compileSchema, readSchema } from '../manifest/compile-schema.js'
import { type AllowList, parseAllowedHosts } from '../verify/parse-allowed-hosts.js'
import { checkRole } from './check-role.js'
import { type Destination, parseDestinations } from './notify-destinations.js'
import { QUEUE_NAMES, type QueueName, type Role } from './roles.js'

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

/** DevSys's own settings, read once from the environment (specs/env.schema.json). */
export interface AppConfig {
  appId?: number
  /** PEM text, from PRIVATE_KEY (unescaped or base64-decoded) or read from PRIVATE_KEY_PATH. */
  privateKey?: string
  webhookSecret?: string
  webhookPath: string
  port: number
  host: string
  logLevel: LogLevel
  logFormat: LogFormat
  /**
   * DATA_DIR made absolute against the working directory at start: git runs in other folders
   * (mirrors, workspaces), where a relative path would name a different place or none.
   */
  dataDir: string
  managerApiToken?: string
  /** GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET: the dashboard's GitHub sign-in (both or neither). */
  oauth?: { clientId: string; clientSecret: string }
  /** DASHBOARD_URL, or http://HOST:PORT: where people open DevSys (OAuth callback, Secure cookies). */
  dashboardUrl: string
  gheHost?: string
  gheProtocol?: 'http' | 'https'
  workerConcurrency: number
  jobMaxAttempts: number
  jobLeaseMs: number
  /** REQUEST_TIMEOUT_MS: longest a client may take to send a request (headers and body). */
  requestTimeoutMs: number
  /** DEVSYS_ROLE (src/config/roles.ts); the deprecated DEVSYS_WORKER=off means `receiver`. */
  role: Role
  /** DEVSYS_QUEUES: the queues whose jobs this process runs (roles `worker` and `all`). */
  queues: QueueName[]
  /** SHUTDOWN_GRACE_MS: how long a stopping worker waits for its jobs before handing them back. */
  shutdownGraceMs: number
  /** REDELIVERY_INTERVAL_SECONDS: how often failed webhook deliveries are redelivered; 0: never. */
  redeliveryIntervalSeconds: number
  /** DATABASE_URL: the store is PostgreSQL there; unset, it is SQLite in DATA_DIR. Secret. */
  databaseUrl?: string
  /** REDIS_URL: GitHub rate limits are shared through this Redis; unset, kept per process. Secret. */
  redisUrl?: string
  /** SQLite `synchronous` setting for the store. */
  storeSync: 'NORMAL' | 'FULL'
  maxManifestBytes: number
  deploy: DeployEnv
  /** ACCEPTANCE_ALLOWED_HOSTS: non-public hosts acceptance checks may reach anyway. */
  acceptanceAllowedHosts: AllowList
  /** AGENT_*: the coding agents' model endpoint and default model. */
  agent: AgentEnv
  /** NOTIFY_*: where notifications go, and the non-public hosts they may reach. */
  notify: NotifyEnv
}

/** Notification destinations and their reach: server settings only, never a repository's. */
export interface NotifyEnv {
  destinations: Destination[]
  /** NOTIFY_ALLOWED_HOSTS. */
  allowedHosts: AllowList
}

/** The coding agents' model endpoint: server settings only, never a repository's. */
export interface AgentEnv {
  /** AGENT_BASE_URL; undefined when the server offers no agent generator. */
  baseUrl?: string
  /** AGENT_API_KEY: added by DevSys's proxy, never given to the agent. */
  apiKey?: string
  /** AGENT_MODEL: the default model. */
  model?: string
}

/** Server-side settings of the deploy targets (the repo config chooses the target). */
export interface DeployEnv {
  /** LOCAL_DEPLOY_SERVE=on: serve local-target environments with php -S. */
  serveLocal: boolean
  php: { container: string; url: string }
  ssh: {
    privateKeyPath?: string
    knownHostsPath?: string
    runCompose: boolean
    /** EXTERNAL_DEPLOY_SSH_ALLOW: which repositories may deploy to which host and folder. */
    allow: SshAllowEntry[]
  }
}

export type LoadEnvResult = { ok: true; config: AppConfig } | { ok: false; errors: string[] }

/** Variables whose values never appear in a message. */
const SECRETS = new Set([
  'PRIVATE_KEY',
  'WEBHOOK_SECRET',
  'MANAGER_API_TOKEN',
  'GITHUB_CLIENT_SECRET',
  'AGENT_API_KEY',
  // Holds the database password.
  'DATABASE_URL',
  'REDIS_URL',
  'NOTIFY_WEBHOOK_SECRET',
  'NOTIFY_SLACK_WEBHOOK_URL',
  'NOTIFY_SMTP_URL',
])
const PEM = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/

type Schema = Record<string, unknown>
type Env = Record<string, string | number | undefined>

const getValidator = compileSchema('env.schema.json', { coerceTypes: true })
let envSchema: { properties: Record<string, Schema> } | undefined

/**
 * Reads and checks DevSys's environment variables. Empty values count as unset. On failure
 * there is one message per variable naming it, the bad value (never for secrets) and what to set.
 * Takes any string map (process.env fits) so tests may pass values outside ProcessEnv's typing.
 */
export function loadEnv(env: Readonly<Record<string, string | undefined>>): LoadEnvResult {
  envSchema ??= readSchema('env.schema.json') as { properties: Record<string, Schema> }
  const properties = envSchema.properties
  // 1. Only DevSys's own variables are validated; everything else in the environment is ignored.
  const values: Env = {}
  for (const name of Object.keys(properties)) {
    const value = env[name]
    if (value !== undefined && value !== '') values[name] = value
  }
  const errors = new Map<string, string>()
  const fail = (name: string, message: string): void => {
    if (!errors.has(name)) errors.set(name, `${name}: ${message}`)
  }

  // 2. Types, ranges and defaults from the schema (which fills in `values`: note what was set).
  const given = new Set(Object.keys(values))
  const validate = getValidator()
  if (!validate(values)) {
    for (const error of validate.errors ?? []) {
      const name = error.instancePath.slice(1)
      fail(name, describeError(name, error, properties[name] ?? {}))
    }
  }

  // 3. Rules across variables, and the private key's content.
  const privateKey = readPrivateKey(values, fail)
  const hasKey = values.PRIVATE_KEY !== undefined || values.PRIVATE_KEY_PATH !== undefined
  if (values.APP_ID !== undefined && !hasKey) {
    fail('APP_ID', 'is set but no private key is; also set PRIVATE_KEY or PRIVATE_KEY_PATH')
  }
  if (values.APP_ID === undefined && hasKey) {
    const name = values.PRIVATE_KEY !== undefined ? 'PRIVATE_KEY' : 'PRIVATE_KEY_PATH'
    fail(name, "is set but APP_ID is not; also set APP_ID (the number on the App's settings page)")
  }
  if (values.APP_ID !== undefined && values.WEBHOOK_SECRET === undefined) {
    fail(
      'WEBHOOK_SECRET',
      "is not set; set it to the App's webhook secret so that webhook signatures are verified",
    )
  }
  if ((values.GITHUB_CLIENT_ID === undefined) !== (values.GITHUB_CLIENT_SECRET === undefined)) {
    const missing =
      values.GITHUB_CLIENT_ID === undefined ? 'GITHUB_CLIENT_ID' : 'GITHUB_CLIENT_SECRET'
    fail(
      missing,
      "is unset while its pair is set; the dashboard's GitHub sign-in needs both the App's client id and a client secret (GitHub App settings), or neither",
    )
  }
  if (values.GHE_PROTOCOL !== undefined && values.GHE_HOST === undefined) {
    fail('GHE_PROTOCOL', 'is set but GHE_HOST is not; set GHE_HOST or unset GHE_PROTOCOL')
  }
  const allowed = parseAllowedHosts(String(values.ACCEPTANCE_ALLOWED_HOSTS ?? ''))
  if (!allowed.ok) {
    fail(
      'ACCEPTANCE_ALLOWED_HOSTS',
      `has ${allowed.bad.map((b) => JSON.stringify(b)).join(', ')}, which is not a host name, address or CIDR range; list hosts separated by commas, e.g. staging.internal, 10.20.0.0/16`,
    )
  }
  const sshAllow = parseSshAllowList(String(values.EXTERNAL_DEPLOY_SSH_ALLOW ?? ''))
  if (!sshAllow.ok) {
    fail(
      'EXTERNAL_DEPLOY_SSH_ALLOW',
      `has ${sshAllow.bad.map((b) => JSON.stringify(b)).join(', ')}, which is not repoGlob=[user@]host[:port]/absolute/folder; separate entries with commas or spaces, e.g. octo/*=deploy@web1.example.com:22/srv/sites`,
    )
  }
  const queues = checkRole(values, given, fail)
  const notify = checkNotify(values, fail)
  if (errors.size > 0 || !allowed.ok || !sshAllow.ok || !queues || !notify) {
    return { ok: false, errors: [...errors.values()] }
  }
  const config = toAppConfig(values, privateKey, allowed.list, sshAllow.list)
  return { ok: true, config: { ...config, queues, notify } }
}

/** NOTIFY_*: the destinations and NOTIFY_ALLOWED_HOSTS, or undefined. */
function checkNotify(
  values: Env,
  fail: (name: string, message: string) => void,
): NotifyEnv | undefined {
  const allowed = parseAllowedHosts(String(values.NOTIFY_ALLOWED_HOSTS ?? ''))
  if (!allowed.ok) {
    fail(
      'NOTIFY_ALLOWED_HOSTS',
      `has ${allowed.bad.map((b) => JSON.stringify(b)).join(', ')}, which is not a host name, address or CIDR range; list hosts separated by commas, e.g. hooks.internal, 10.20.0.0/16`,
    )
  }
  const parsed = parseDestinations((name) => {
    const value = values[name]
    return value === undefined ? undefined : String(value)
  })
  if (!parsed.ok) for (const [name, message] of parsed.errors) fail(name, message)
  if (!allowed.ok || !parsed.ok) return undefined
  return { destinations: parsed.destinations, allowedHosts: allowed.list }
}

/** The PEM text from PRIVATE_KEY or PRIVATE_KEY_PATH, reporting unreadable or non-PEM keys. */
function readPrivateKey(values: Env, fail: (name: string, message: string) => void) {
  const inline = values.PRIVATE_KEY
  const path = values.PRIVATE_KEY_PATH
  if (typeof inline === 'string' && typeof path === 'string') {
    fail('PRIVATE_KEY_PATH', 'is set together with PRIVATE_KEY; set only one of them')
    return undefined
  }
  if (typeof inline === 'string') {
    const key = decodeKey(inline)
    if (!PEM.test(key)) {
      fail(
        'PRIVATE_KEY',
        "is (value hidden), which is not a PEM private key; paste the .pem file's contents (newlines may be written as \\n) or set PRIVATE_KEY_PATH to the file",
      )
      return undefined
    }
    return key
  }
  if (typeof path !== 'string') return undefined
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    fail(
      'PRIVATE_KEY_PATH',
      `is ${JSON.stringify(path)}, which cannot be read (${code}); set it to the path of the App's .pem file`,
    )
    return undefined
  }
  if (!PEM.test(text)) {
    fail(
      'PRIVATE_KEY_PATH',
      `is ${JSON.stringify(path)}, which does not hold a PEM private key; point it to the .pem file downloaded from the App's settings page`,
    )
    return undefined
  }
  return text
}

/** Accepts a key with literal \n escapes (one-line .env files) or base64-encoded, like Probot. */
function decodeKey(value: string): string {
  const unescaped = value.replaceAll('\\n', '\n')
  if (PEM.test(unescaped)) return unescaped
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  return PEM.test(decoded) ? decoded : unescaped
}

function describeError(name: string, error: ErrorObject, schema: Schema): string {
  const value = SECRETS.has(name) ? '(value hidden)' : JSON.stringify(String(error.data))
  const about = typeof schema.description === 'string' ? ` (${schema.description})` : ''
  const params = error.params as Record<string, unknown>
  const wholeNumber = `set ${name} to a whole number ${rangeText(schema)}${about}`
  switch (error.keyword) {
    case 'type':
      return `is ${value}, which is not a whole number; ${wholeNumber}`
    case 'minimum':
    case 'maximum':
      return `is ${value}, which is out of range; ${wholeNumber}`
    case 'enum':
      return `is ${value}, which is not allowed; set ${name} to one of: ${(params.allowedValues as unknown[]).join(', ')}`
    case 'minLength':
      return `is ${value}, which is shorter than ${params.limit} characters; set ${name} to a random value of at least ${params.limit} characters, e.g. from \`openssl rand -hex 32\``
    case 'pattern':
      return `is ${value}, which is not in the expected form; ${String(schema['x-hint'] ?? `set ${name} to match ${params.pattern}`)}`
    default:
      return `is ${value}, which ${error.message ?? 'is invalid'}; check ${name}${about}`
  }
}

function rangeText(schema: Schema): string {
  const min = schema.minimum
  const max = schema.maximum
  if (min !== undefined && max !== undefined) return `from ${min} to ${max}`
  if (min !== undefined) return `of at least ${min}`
  return ''
}

function toAppConfig(
  values: Env,
  privateKey: string | undefined,
  acceptanceAllowedHosts: AllowList,
  sshAllow: SshAllowEntry[],
): Omit<AppConfig, 'notify'> {
  const str = (name: string): string | undefined => {
    const value = values[name]
    return value === undefined ? undefined : String(value)
  }
  const num = (name: string): number => Number(values[name])
  const appId = values.APP_ID
  const webhookSecret = str('WEBHOOK_SECRET')
  const managerApiToken = str('MANAGER_API_TOKEN')
  const gheHost = str('GHE_HOST')
  const clientId = str('GITHUB_CLIENT_ID')
  const clientSecret = str('GITHUB_CLIENT_SECRET')
  const gheProtocol = str('GHE_PROTOCOL') as AppConfig['gheProtocol']
  const sshKey = str('EXTERNAL_DEPLOY_SSH_KEY_PATH')
  const knownHosts = str('EXTERNAL_DEPLOY_KNOWN_HOSTS')
  const agentBaseUrl = str('AGENT_BASE_URL')
  const agentApiKey = str('AGENT_API_KEY')
  const agentModel = str('AGENT_MODEL')
  const databaseUrl = str('DATABASE_URL')
  return {
    ...(appId === undefined ? {} : { appId: Number(appId) }),
    ...(privateKey === undefined ? {} : { privateKey }),
    ...(webhookSecret === undefined ? {} : { webhookSecret }),
    webhookPath: String(values.WEBHOOK_PATH),
    port: num('PORT'),
    host: String(values.HOST),
    logLevel: values.LOG_LEVEL as LogLevel,
    logFormat: values.LOG_FORMAT as LogFormat,
    dataDir: resolve(String(values.DATA_DIR)),
    ...(managerApiToken === undefined ? {} : { managerApiToken }),
    ...(clientId === undefined || clientSecret === undefined
      ? {}
      : { oauth: { clientId, clientSecret } }),
    dashboardUrl: str('DASHBOARD_URL') ?? defaultDashboardUrl(String(values.HOST), num('PORT')),
    ...(gheHost === undefined ? {} : { gheHost }),
    ...(gheProtocol === undefined ? {} : { gheProtocol }),
    workerConcurrency: num('WORKER_CONCURRENCY'),
    jobMaxAttempts: num('JOB_MAX_ATTEMPTS'),
    jobLeaseMs: num('JOB_LEASE_MS'),
    requestTimeoutMs: num('REQUEST_TIMEOUT_MS'),
    role: values.DEVSYS_WORKER === 'off' ? 'receiver' : (values.DEVSYS_ROLE as Role),
    queues: [...QUEUE_NAMES],
    shutdownGraceMs: num('SHUTDOWN_GRACE_MS'),
    redeliveryIntervalSeconds: num('REDELIVERY_INTERVAL_SECONDS'),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    ...(values.REDIS_URL === undefined ? {} : { redisUrl: String(values.REDIS_URL) }),
    storeSync: values.STORE_SYNC === 'full' ? 'FULL' : 'NORMAL',
    deploy: {
      serveLocal: values.LOCAL_DEPLOY_SERVE === 'on',
      php: { container: String(values.PHP_DEPLOY_CONTAINER), url: String(values.PHP_DEPLOY_URL) },
      ssh: {
        ...(sshKey === undefined ? {} : { privateKeyPath: sshKey }),
        ...(knownHosts === undefined ? {} : { knownHostsPath: knownHosts }),
        runCompose: values.EXTERNAL_DEPLOY_RUN_COMPOSE === 'true',
        allow: sshAllow,
      },
    },
    maxManifestBytes: num('MAX_MANIFEST_BYTES'),
    acceptanceAllowedHosts,
    agent: {
      ...(agentBaseUrl === undefined ? {} : { baseUrl: agentBaseUrl }),
      ...(agentApiKey === undefined ? {} : { apiKey: agentApiKey }),
      ...(agentModel === undefined ? {} : { model: agentModel }),
    },
  }
}

/** http://HOST:PORT, with a wildcard listen address (0.0.0.0, ::) named as localhost. */
function defaultDashboardUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`
}
