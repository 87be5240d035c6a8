import { randomBytes } from 'node:crypto'
import type { Server as HttpServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import type { Logger } from 'pino'
import { type ApplicationFunction, Probot, ProbotOctokit, Server } from 'probot'
import { createApiHandler } from './api/create-api-handler.js'
import type { AppDeps } from './app-deps.js'
import type { AppConfig } from './config/load-env.js'
import { appOctokit } from './github/app-octokit.js'
import { guardRequests, type RequestGuard } from './http/guard-requests.js'
import { limitRequestBodies } from './http/limit-request-bodies.js'
import { requireSetupToken } from './http/require-setup-token.js'
import { retryAfterUnavailable } from './http/retry-after-unavailable.js'
import { devsysApp } from './index.js'
import type { Metrics } from './metrics/metrics.js'
import { serveMetrics, timeWebhookAnswers } from './metrics/serve-metrics.js'

type HandlerFactory = Parameters<Server['loadHandlerFactory']>[0]
type ProbotOptions = NonNullable<ConstructorParameters<typeof Probot>[0]>

/** GitHub caps webhook payloads at 25 MB; a larger body is not a delivery. */
const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024
/** The setup page's import form sends an app id, a PEM key and a secret: a few KiB. */
const MAX_IMPORT_BYTES = 64 * 1024
/** When a webhook answered 503 (the queue's database is down) may be sent again. */
export const WEBHOOK_RETRY_AFTER_SECONDS = 30

/** A receiver's HTTP server, and the Probot instance its webhooks arrive at (with credentials). */
export interface Receiver {
  http: HttpServer
  probot?: Probot
  /** Probot's own stop (it also closes the setup page's event source). */
  stop(): Promise<void>
}

/** How every GitHub client class is wrapped (REDIS_URL: throttled through shared rate limits). */
export type WrapOctokit = (Base: typeof ProbotOctokit) => typeof ProbotOctokit

/**
 * The GitHub App as the configuration describes it (APP_ID, PRIVATE_KEY, GHE_*); `wrap` wraps
 * the client class every app and installation client is made from.
 */
export function probotOptions(config: AppConfig, log: Logger, wrap?: WrapOctokit): ProbotOptions {
  const apiBaseUrl = config.gheHost
    ? `${config.gheProtocol ?? 'https'}://${config.gheHost}/api/v3`
    : undefined
  const base = apiBaseUrl === undefined ? undefined : appOctokit(apiBaseUrl)
  const Octokit = wrap ? wrap(base ?? ProbotOctokit) : base
  return {
    ...(config.appId === undefined ? {} : { appId: config.appId }),
    ...(config.privateKey === undefined ? {} : { privateKey: config.privateKey }),
    ...(config.webhookSecret === undefined ? {} : { secret: config.webhookSecret }),
    ...(apiBaseUrl === undefined ? {} : { baseUrl: apiBaseUrl }),
    ...(Octokit === undefined ? {} : { Octokit }),
    log,
  }
}

/**
 * Serves webhooks and the manager API (the app itself), or Probot's setup page and the manager
 * API when the app is not registered yet (no credentials); `setupToken` then opens the page.
 */
export async function startReceiver(
  deps: AppDeps,
  opts: {
    credentials: boolean
    setupToken: string | undefined
    /** Served at /metrics (with the manager API token); webhook answers are timed into it. */
    metrics?: Metrics
    wrapOctokit?: WrapOctokit
  },
): Promise<Receiver> {
  const { config, log } = deps
  const server = opts.credentials
    ? new Server({
        Probot: Probot.defaults(probotOptions(config, log, opts.wrapOctokit)),
        port: config.port,
        host: config.host,
        webhookPath: config.webhookPath,
        log,
      })
    : new Server({
        // Probot's setup mode never uses these; it needs some value (probot#1512).
        Probot: Probot.defaults({ appId: 1, privateKey: 'unused in setup mode', log }),
        port: config.port,
        host: config.host,
        log,
      })
  // Webhook bodies are bounded before Probot reads, hashes or logs them; setup pages need the
  // one-time setup token, since the import route writes whatever credentials it is sent to .env.
  const bodies = { timeoutMs: config.requestTimeoutMs, log }
  const guards: RequestGuard[] = []
  // Probot answers webhooks at the server root too (src/index.ts).
  const webhookPaths = [config.webhookPath, '/']
  if (opts.metrics) {
    // First, so that refused bodies (413, 408) are timed too.
    guards.push(
      timeWebhookAnswers(opts.metrics, webhookPaths),
      serveMetrics(opts.metrics, { token: config.managerApiToken, tokens: deps.store, log }),
    )
  }
  if (opts.setupToken) {
    guards.push(
      requireSetupToken({ token: opts.setupToken, log }),
      limitRequestBodies({ paths: ['/probot/import'], maxBytes: MAX_IMPORT_BYTES, ...bodies }),
    )
  }
  guards.push(
    limitRequestBodies({ paths: webhookPaths, maxBytes: MAX_WEBHOOK_BYTES, ...bodies }),
    retryAfterUnavailable({ paths: webhookPaths, seconds: WEBHOOK_RETRY_AFTER_SECONDS }),
  )
  let probot: Probot | undefined
  if (opts.credentials) {
    const app: ApplicationFunction = devsysApp(deps)
    await server.load(async (instance, options) => {
      probot = instance
      await app(instance, options)
    })
  } else {
    server.addHandler(createApiHandler(deps))
    await server.loadHandlerFactory(await setupPage(config, log))
  }
  const http = await server.start()
  guardRequests(http, guards, { requestTimeoutMs: config.requestTimeoutMs, log })
  return { http, ...(probot === undefined ? {} : { probot }), stop: () => server.stop() }
}

/** A new setup token: the setup page opens only with it (see requireSetupToken). */
export function newSetupToken(): string {
  return randomBytes(24).toString('base64url')
}

/**
 * Probot's setup page (register the GitHub App from app.yml). Probot does not export it, so it
 * is loaded from Probot's own files; the version is pinned in package.json for that reason.
 */
async function setupPage(config: AppConfig, log: Logger): Promise<HandlerFactory> {
  // Smee (a public webhook relay) is unreachable offline; opt in with NO_SMEE_SETUP=false.
  process.env.NO_SMEE_SETUP ??= 'true'
  const setupUrl = new URL('./apps/setup.js', import.meta.resolve('probot'))
  const { setupAppFactory } = (await import(pathToFileURL(setupUrl.pathname).href)) as {
    setupAppFactory: (options: { host: string; port: number; log: Logger }) => HandlerFactory
  }
  return setupAppFactory({
    host: config.host,
    port: config.port,
    log: log.child({ name: 'setup' }),
  })
}
