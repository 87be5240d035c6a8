import type { Server as HttpServer } from 'node:http'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { Probot, type ProbotOctokit } from 'probot'
import { checkRunnerEnv, createRunner, type RunnerConfig } from '../runner/create-runner.js'
import { probeSandbox } from '../runner/sandbox/probe-sandbox.js'
import type { SandboxSettings } from '../runner/sandbox/sandbox-settings.js'
import { ensureApiToken } from './api/ensure-api-token.js'
import type { AppDeps, Enqueue, GitHubAuth, RunnerFor } from './app-deps.js'
import { type AppConfig, loadEnv } from './config/load-env.js'
import { kindsOf, QUEUE_NAMES, roleDoes } from './config/roles.js'
import { createTargets, type TargetFactory } from './deploy/create-target.js'
import { agentServerSettings } from './generate/agent/agent-server-settings.js'
import type { AgentServerSettings } from './generate/create-generator.js'
import { createGitWorkspaces, type GitWorkspaces } from './git/create-git-workspaces.js'
import { connectSharedRateLimits } from './github/shared-rate-limits.js'
import { closeServer } from './http/close-server.js'
import { serveHealth } from './http/serve-health.js'
import { createDeployJob, type DeployDeps } from './jobs/deploy.js'
import { createGenerateJob } from './jobs/generate-task.js'
import { createIntakeIssueJob } from './jobs/intake-issue.js'
import { createIntakePushJob } from './jobs/intake-push.js'
import { createMonitorJob } from './jobs/monitor.js'
import { createNotifyJob } from './jobs/notify.js'
import { createRedeliverFailedJob } from './jobs/redeliver-failed.js'
import { createRevertJob } from './jobs/revert.js'
import { createRollbackJob } from './jobs/rollback.js'
import { createPrCommandJob } from './jobs/run-pr-command.js'
import { createRunTestsJob } from './jobs/run-tests.js'
import { createLogger } from './logger.js'
import { instrumentHandlers } from './metrics/instrument-handlers.js'
import { createMetrics } from './metrics/metrics.js'
import type { OnIncident } from './monitor/incident-event.js'
import { type Channels, createChannels } from './notify/channels.js'
import { checkDestinations } from './notify/check-destinations.js'
import { tellIncident } from './notify/incident-notification.js'
import { queueNotifier } from './notify/queue-notifier.js'
import { createQueue } from './queue/create-queue.js'
import type { Queue } from './queue/queue.js'
import type { JobHandler } from './queue/types.js'
import { scheduleRepeatingJobs } from './schedule-repeating-jobs.js'
import { redactingAuth } from './secrets/redact-github-requests.js'
import { registerConfigSecrets } from './secrets/register-config-secrets.js'
import { newSetupToken, probotOptions, type Receiver, startReceiver } from './start-receiver.js'
import { createStore } from './store/create-store.js'
import type { Store } from './store/store.js'
import { subscriptions, webhookEventNames } from './webhooks/index.js'

/** A running DevSys: HTTP server (webhooks, manager API, setup page; or health only), store and worker. */
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
  /** The queue's record of webhook deliveries (Queue.hasDelivery), for redelivering failed ones. */
  hasDelivery?: (id: string) => Promise<boolean>
  /** Told when the monitor opens or resolves an incident (the notifications port). */
  onIncident?: OnIncident
  /** Told of every monitor check that counted (/metrics). */
  onMonitorChecked?: (repo: string, environment: string, ok: boolean) => void
  /** The monitor's clock (tests drive it). */
  monitorNow?: () => number
  /** The notification channels (NOTIFY_*); default ones reaching NOTIFY_ALLOWED_HOSTS. */
  channels?: Channels
}

/**
 * The job kinds this process runs. Jobs are DevSys's only writers to GitHub, and every client
 * they get comes from `auth` wrapped here, so every request body is redacted of secrets.
 */
export function jobHandlers(deps: JobDeps): JobHandler[] {
  const { store, enqueue, git, targets } = deps
  const auth = redactingAuth(deps.auth)
  const maxManifestBytes = deps.config.maxManifestBytes
  // Jobs tell the repositories' subscribers of each state change through `notify` jobs (none
  // when the server has no destination).
  const notify =
    deps.config.notify.destinations.length > 0 ? queueNotifier(enqueue).publish : undefined
  const intake = { store, auth, enqueue, maxManifestBytes, notify }
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
    notify,
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
      notify,
      runner: deps.runner,
      ...(deps.sandbox === undefined ? {} : { sandbox: deps.sandbox }),
      ...(deps.agent === undefined ? {} : { agent: deps.agent }),
    }),
    createRunTestsJob({ store, auth, git, runner: deps.runner, maxManifestBytes, notify }),
    createPrCommandJob({ store, auth, enqueue, maxManifestBytes }),
    createDeployJob({ ...deploy, git }),
    createRollbackJob(deploy),
    createRevertJob({ store, auth, git }),
    createMonitorJob({
      store,
      auth,
      targets,
      enqueue,
      maxManifestBytes,
      acceptance,
      onIncident: tellIncident(deps.onIncident, notify),
      ...(deps.onMonitorChecked === undefined ? {} : { onChecked: deps.onMonitorChecked }),
      ...(deps.monitorNow === undefined ? {} : { now: deps.monitorNow }),
    }),
    createRedeliverFailedJob({
      auth,
      enqueue,
      hasDelivery:
        deps.hasDelivery ??
        (() => Promise.reject(new Error('This process was given no record of deliveries'))),
      handledEvents: subscriptions.flatMap((s) => s.events),
      intervalMs: deps.config.redeliveryIntervalSeconds * 1000,
    }),
    createNotifyJob({
      store,
      auth,
      enqueue,
      channels:
        deps.channels ?? createChannels({ reach: { allowed: deps.config.notify.allowedHosts } }),
      destinations: deps.config.notify.destinations,
    }),
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
 * Starts DevSys from environment variables: validates them, opens the store, and, as its role
 * (DEVSYS_ROLE) says, serves webhooks and the manager API and starts the job worker for its
 * queues. Without GitHub App credentials it serves Probot's setup page (to register the app
 * from app.yml) and the manager API. stop() is graceful (see stopAll).
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
  const does = roleDoes(config.role)
  const log = opts.log ?? createLogger(config.logLevel, undefined, config.logFormat)
  if (opts.env.DEVSYS_WORKER === 'off') {
    log.warn('DEVSYS_WORKER=off is deprecated: it means DEVSYS_ROLE=receiver; set that instead')
  }
  // Known before anything can write: the logger, the store and GitHub clients redact them.
  for (const warning of registerConfigSecrets(config, runners.config)) log.warn(warning)
  const sandbox = runners.config.sandbox
  reportSandbox(sandbox, log)
  const destinations = await checkDestinations(config.notify)
  if (destinations.errors.length > 0) throw new ConfigError(destinations.errors)
  for (const warning of destinations.warnings) log.warn(warning)
  const channels = createChannels({ reach: { allowed: config.notify.allowedHosts } })
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
  // A worker runs the jobs of its queues (DEVSYS_QUEUES) and leaves the rest queued for others;
  // serving every queue, it also fails jobs of kinds it does not know (a different version's).
  const kinds = kindsOf(config.queues)
  const metrics = createMetrics({
    queue: { countJobs: () => queue.countJobs() },
    deployments: store,
    webhookEvents: webhookEventNames(),
  })
  const handlers = jobHandlers({
    store,
    auth,
    config,
    enqueue,
    git: gitWorkspaces(config, log),
    runner: runnerFactory(runners.config),
    targets: targets.targetFor,
    sandbox,
    agent,
    hasDelivery: (id) => queue.hasDelivery(id),
    channels,
    onMonitorChecked: (repo, environment, ok) => metrics.monitorChecked(repo, environment, ok),
  }).filter((handler) => kinds.includes(handler.kind))
  const queue: Queue = createQueue(config, {
    ownKindsOnly: config.queues.length < QUEUE_NAMES.length,
    handlers: instrumentHandlers(handlers, metrics),
    log,
  })
  // pg-boss sets up its schema in the background: a queue that cannot work fails the start here.
  await queue.ready().catch(async (error: unknown) => {
    await queue.close().catch(() => undefined)
    await store.close().catch(() => undefined)
    throw error
  })
  const deps: AppDeps = { config, store, queue, log }

  // 3. HTTP: a receiver serves webhooks and the manager API (or, before the app is registered,
  //    the setup page); a worker serves only its health check.
  const credentials = config.appId !== undefined && config.privateKey !== undefined
  const setupToken = credentials ? undefined : newSetupToken()
  // With REDIS_URL every GitHub client Probot makes (app and installations) throttles through
  // Redis, so all DevSys processes together keep to GitHub's rate limits.
  const rateLimits =
    credentials && config.redisUrl !== undefined
      ? await connectSharedRateLimits({ url: config.redisUrl, log })
      : undefined
  const wrapOctokit = rateLimits
    ? (Base: typeof ProbotOctokit) => rateLimits.octokit(Base)
    : undefined
  let receiver: Receiver | undefined
  let health: HttpServer | undefined
  if (does.receive) {
    receiver = await startReceiver(deps, {
      credentials,
      setupToken,
      metrics,
      ...(wrapOctokit ? { wrapOctokit } : {}),
    })
    probot = receiver.probot
  } else {
    probot = new Probot(probotOptions(config, log, wrapOctokit))
    const { port, host, role, queues } = config
    const token = config.managerApiToken
    const tokens = deps.store
    health = await serveHealth({
      port,
      host,
      role,
      queues,
      metrics: { metrics, token, tokens, log },
    })
  }

  // 4. The worker: only with credentials, since every job talks to GitHub. Sites deployed to
  //    the local target are served again, on their previous ports when free, by the process
  //    that deploys them.
  const working = credentials && does.jobs
  if (working) queue.start()
  const schedules = working ? scheduleRepeatingJobs(queue, config, kinds, log) : []
  if (does.jobs && config.queues.includes('deploy')) {
    for (const site of await targets.resumeLocal()) log.info(site, 'serving a local deploy again')
  }
  log.info(
    {
      port: config.port,
      mode: credentials ? 'app' : 'setup',
      role: config.role,
      worker: working,
      ...(does.jobs ? { queues: config.queues } : {}),
      dataDir: config.dataDir,
    },
    credentials
      ? 'DevSys is running'
      : `DevSys needs registering: open http://localhost:${config.port}/probot?token=${setupToken} (the token works once, for this run)`,
  )
  let stopping: Promise<void> | undefined
  return {
    port: config.port,
    mode: credentials ? 'app' : 'setup',
    config,
    store,
    queue,
    stop() {
      stopping ??= stopAll()
      return stopping
    },
  }

  /** Graceful: the receiver finishes its requests while the worker finishes or hands back jobs. */
  async function stopAll(): Promise<void> {
    const graceMs = config.shutdownGraceMs
    log.info({ role: config.role }, 'DevSys is stopping')
    for (const timer of schedules) clearTimeout(timer)
    const closeReceiver = async () => {
      if (!receiver) return
      log.info('Receiver: accepting no new connections; finishing the requests in flight')
      // closeServer first: Probot's stop then only closes its setup page's event source.
      await Promise.all([closeServer(receiver.http, { graceMs, log }), receiver.stop()])
      log.info('Receiver: stopped')
    }
    const stopWorker = async () => {
      if (!working) return
      log.info(
        { graceMs },
        'Worker: claiming no more jobs; waiting for running jobs, then handing back the rest',
      )
      await queue.stop()
      log.info('Worker: stopped')
    }
    await Promise.all([closeReceiver(), stopWorker()])
    if (health) await closeServer(health, { graceMs, log })
    await targets.close()
    channels.close()
    await queue.close()
    await store.close()
    await rateLimits?.close()
    log.info('DevSys stopped')
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
