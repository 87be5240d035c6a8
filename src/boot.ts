import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Logger } from 'pino'
import { type ApplicationFunction, Probot, ProbotOctokit, Server } from 'probot'
import { checkRunnerEnv, createRunner, type RunnerConfig } from '../runner/create-runner.js'
import { probeSandbox } from '../runner/sandbox/probe-sandbox.js'
import type { SandboxSettings } from '../runner/sandbox/sandbox-settings.js'
import { createApiHandler } from './api/create-api-handler.js'
import { ensureApiToken } from './api/ensure-api-token.js'
import type { AppDeps, Enqueue, GitHubAuth, RunnerFor } from './app-deps.js'
import { type AppConfig, loadEnv } from './config/load-env.js'
import { createTargets, type TargetFactory } from './deploy/create-target.js'
import { agentServerSettings } from './generate/agent/agent-server-settings.js'
import type { AgentServerSettings } from './generate/create-generator.js'
import { createGitWorkspaces, type GitWorkspaces } from './git/create-git-workspaces.js'
import { appOctokit } from './github/app-octokit.js'
import { connectSharedRateLimits } from './github/shared-rate-limits.js'
import { guardRequests, type RequestGuard } from './http/guard-requests.js'
import { limitRequestBodies } from './http/limit-request-bodies.js'
import { requireSetupToken } from './http/require-setup-token.js'
import { devsysApp } from './index.js'
import { createDeployJob, type DeployDeps } from './jobs/deploy.js'
import { createGenerateJob } from './jobs/generate-task.js'
import { createIntakeIssueJob } from './jobs/intake-issue.js'
import { createIntakePushJob } from './jobs/intake-push.js'
import { createRevertJob } from './jobs/revert.js'
import { createRollbackJob } from './jobs/rollback.js'
import { createPrCommandJob } from './jobs/run-pr-command.js'
import { createRunTestsJob } from './jobs/run-tests.js'
import { createLogger } from './logger.js'
import { createQueue } from './queue/create-queue.js'
import type { Queue } from './queue/queue.js'
import type { JobHandler } from './queue/types.js'
import { redactingAuth } from './secrets/redact-github-requests.js'
import { registerConfigSecrets } from './secrets/register-config-secrets.js'
import { createStore } from './store/create-store.js'
import type { Store } from './store/store.js'

type HandlerFactory = Parameters<Server['loadHandlerFactory']>[0]

/** GitHub caps webhook payloads at 25 MB; a larger body is not a delivery. */
const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024
/** The setup page's import form sends an app id, a PEM key and a secret: a few KiB. */
const MAX_IMPORT_BYTES = 64 * 1024

/** A running DevSys: HTTP server (webhooks, manager API, setup page), store and worker. */
export interface Devsys {
  port: number
  mode: 'app' | 'setup'
  config: AppConfig
  store: Store
  queue: Queue
  stop(): Promise<void>
}

/** Raised when the environment is invalid; `errors` holds one message per variable. */
export class ConfigError extends Error {
  constructor(readonly errors: string[]) {
    super(`DevSys configuration is invalid:\n${errors.map((e) => `  - ${e}`).join('\n')}`)
  }
}

/** What the job handlers share. */
export interface JobDeps {
  store: Store
  auth: GitHubAuth
  config: AppConfig
  enqueue: Enqueue
  git: GitWorkspaces
  /** The test runner for a repo config's choice. */
  runner: RunnerFor
  /** The deploy target of an environment. */
  targets: TargetFactory
  /** How task code is confined on this host (SANDBOX_*, DEVSYS_UNSAFE_NO_SANDBOX). */
  sandbox?: SandboxSettings
  /** The coding agents' model endpoint and the agents refused at start (AGENT_*). */
  agent?: AgentServerSettings
  /** Deploy tuning for tests: lock expiry, how long commands wait for a lock, acceptance retries. */
  deployTuning?: Pick<DeployDeps, 'lockTtlMs' | 'lockWaitMs' | 'acceptance'>
}

/**
 * The job kinds this process runs. Jobs are DevSys's only writers to GitHub, and every client
 * they get comes from `auth` wrapped here, so every request body is redacted of secrets.
 */
export function jobHandlers(deps: JobDeps): JobHandler[] {
  const { store, enqueue, git, targets } = deps
  const auth = redactingAuth(deps.auth)
  const maxManifestBytes = deps.config.maxManifestBytes
  const intake = { store, auth, enqueue, maxManifestBytes }
  const acceptance = {
    ...deps.deployTuning?.acceptance,
    allowedHosts: deps.config.acceptanceAllowedHosts,
  }
  const deploy = {
    store,
    auth,
    enqueue,
    targets,
    maxManifestBytes,
    ...deps.deployTuning,
    acceptance,
  }
  return [
    createIntakeIssueJob(intake),
    createIntakePushJob(intake),
    createGenerateJob({
      store,
      auth,
      git,
      enqueue,
      maxManifestBytes,
      runner: deps.runner,
      ...(deps.sandbox === undefined ? {} : { sandbox: deps.sandbox }),
      ...(deps.agent === undefined ? {} : { agent: deps.agent }),
    }),
    createRunTestsJob({ store, auth, git, runner: deps.runner, maxManifestBytes }),
    createPrCommandJob({ store, auth, enqueue, maxManifestBytes }),
    createDeployJob({ ...deploy, git }),
    createRollbackJob(deploy),
    createRevertJob({ store, auth, git }),
  ] as JobHandler[]
}

/**
 * Test runners as the environment configures them (TEST_RUNNER, DOCKER_*, REMOTE_SSH_*): the
 * repo config picks the runner unless TEST_RUNNER overrides it.
 */
export function runnerFactory(config: RunnerConfig): RunnerFor {
  return (kind, log) => createRunner(config.kind ?? kind, config, log)
}

/** The git workspaces of this process: mirrors cached under DATA_DIR/git. */
export function gitWorkspaces(config: AppConfig, log: Logger): GitWorkspaces {
  return createGitWorkspaces({ cacheDir: join(config.dataDir, 'git'), log })
}

/**
 * Starts DevSys from environment variables: validates them, opens the store, serves webhooks
 * and the manager API, and starts the job worker. Without GitHub App credentials it serves
 * Probot's setup page (to register the app from app.yml) and the manager API.
 */
export async function startDevsys(opts: { env: NodeJS.ProcessEnv; log?: Logger }): Promise<Devsys> {
  // 1. Configuration, validated once at the boundary.
  const loaded = loadEnv(opts.env)
  const runners = checkRunnerEnv(opts.env)
  if (!loaded.ok || !runners.ok) {
    throw new ConfigError([
      ...(loaded.ok ? [] : loaded.errors),
      ...(runners.ok ? [] : runners.errors),
    ])
  }
  const config = loaded.config
  const log = opts.log ?? createLogger(config.logLevel, undefined, config.logFormat)
  // Known before anything can write: the logger, the store and GitHub clients redact them.
  for (const warning of registerConfigSecrets(config, runners.config)) log.warn(warning)
  const sandbox = runners.config.sandbox
  reportSandbox(sandbox, log)
  const agent = agentServerSettings(config.agent, log).settings

  // 2. The durable store and the queue, each as the configuration names it; the manager API's
  //    token (generated once when MANAGER_API_TOKEN is unset, kept in DATA_DIR).
  const store = await createStore(config, log)
  config.managerApiToken ??= await ensureApiToken(config.dataDir, log)
  let probot: Probot | undefined
  const auth: GitHubAuth = async (installationId) => {
    if (!probot) throw new Error('DevSys has no GitHub App credentials (APP_ID, PRIVATE_KEY)')
    return probot.auth(installationId)
  }
  // The handlers enqueue follow-up jobs through the queue they run in.
  const enqueue: Enqueue = (job, options) => queue.enqueue(job, options)
  const targets = createTargets({
    sandbox,
    dataDir: config.dataDir,
    deploy: config.deploy,
    log,
    lastUrl: async (repo, environment) => {
      const [live] = await store.listDeployments({ repo, environment, state: 'success', limit: 1 })
      return live?.url ?? null
    },
  })
  const queue: Queue = createQueue(config, {
    handlers: jobHandlers({
      store,
      auth,
      config,
      enqueue,
      git: gitWorkspaces(config, log),
      runner: runnerFactory(runners.config),
      targets: targets.targetFor,
      sandbox,
      agent,
    }),
    log,
  })
  const deps: AppDeps = { config, store, queue, log }

  // 3. The HTTP server: the app itself, or the setup page when the app is not registered yet.
  const credentials = config.appId !== undefined && config.privateKey !== undefined
  const apiBaseUrl = config.gheHost
    ? `${config.gheProtocol ?? 'https'}://${config.gheHost}/api/v3`
    : undefined
  // With REDIS_URL every GitHub client Probot makes (app and installations) throttles through
  // Redis, so all DevSys processes together keep to GitHub's rate limits.
  const rateLimits =
    credentials && config.redisUrl !== undefined
      ? await connectSharedRateLimits({ url: config.redisUrl, log })
      : undefined
  const baseOctokit = apiBaseUrl === undefined ? undefined : appOctokit(apiBaseUrl)
  const Octokit = rateLimits ? rateLimits.octokit(baseOctokit ?? ProbotOctokit) : baseOctokit
  const server = credentials
    ? new Server({
        Probot: Probot.defaults({
          appId: config.appId,
          privateKey: config.privateKey,
          secret: config.webhookSecret,
          ...(apiBaseUrl === undefined ? {} : { baseUrl: apiBaseUrl }),
          ...(Octokit === undefined ? {} : { Octokit }),
          log,
        }),
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
  const setupToken = credentials ? undefined : randomBytes(24).toString('base64url')
  if (setupToken) {
    guards.push(
      requireSetupToken({ token: setupToken, log }),
      limitRequestBodies({ paths: ['/probot/import'], maxBytes: MAX_IMPORT_BYTES, ...bodies }),
    )
  }
  // Probot answers webhooks at the server root too (src/index.ts).
  const webhookPaths = [config.webhookPath, '/']
  guards.push(limitRequestBodies({ paths: webhookPaths, maxBytes: MAX_WEBHOOK_BYTES, ...bodies }))
  if (credentials) {
    const app: ApplicationFunction = devsysApp(deps)
    await server.load(async (instance, options) => {
      probot = instance
      await app(instance, options)
    })
  } else {
    server.addHandler(createApiHandler(deps))
    await server.loadHandlerFactory(await setupPage(config, log))
  }
  guardRequests(await server.start(), guards, { requestTimeoutMs: config.requestTimeoutMs, log })

  // 4. The worker: only with credentials, since every job talks to GitHub. Sites deployed to
  //    the local target are served again, on their previous ports when free.
  if (credentials && config.worker) queue.start()
  for (const site of await targets.resumeLocal()) log.info(site, 'serving a local deploy again')
  log.info(
    {
      port: config.port,
      mode: credentials ? 'app' : 'setup',
      worker: credentials && config.worker,
      dataDir: config.dataDir,
    },
    credentials
      ? 'DevSys is running'
      : `DevSys needs registering: open http://localhost:${config.port}/probot?token=${setupToken} (the token works once, for this run)`,
  )
  return {
    port: config.port,
    mode: credentials ? 'app' : 'setup',
    config,
    store,
    queue,
    async stop() {
      await queue.stop()
      await server.stop()
      await targets.close()
      await queue.close()
      await store.close()
      await rateLimits?.close()
    },
  }
}

/**
 * Says at start how task code is confined: a warning when the server turned the sandbox off,
 * an error when it cannot start here (runs that need it will then refuse, saying why).
 */
function reportSandbox(sandbox: SandboxSettings, log: Logger): void {
  if (!sandbox.enabled) {
    log.warn(
      'DEVSYS_UNSAFE_NO_SANDBOX=true: test commands, generator commands and local deploys run unconfined as the DevSys user and can read its keys, secrets and data. Use this only when every repository installed is trusted.',
    )
    return
  }
  void probeSandbox(sandbox).then((probe) => {
    if (!probe.ok) log.error(probe.message)
    else if (process.getuid?.() !== 0) {
      log.info(
        'task code runs in the bubblewrap sandbox under a user namespace as the DevSys user: it sees only the system and its own files; run DevSys as root to give it its own unprivileged uid (SANDBOX_UID)',
      )
    }
  })
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
