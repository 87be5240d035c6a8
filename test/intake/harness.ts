import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Dockerode from 'dockerode'
import type { Probot } from 'probot'
import { afterEach, beforeEach } from 'vitest'
import { createLocalRunner } from '../../runner/local/create-local-runner.js'
import type { Enqueue, GitHubAuth, RunnerFor } from '../../src/app-deps.js'
import { type JobDeps, jobHandlers } from '../../src/boot.js'
import { loadEnv } from '../../src/config/load-env.js'
import { createTargets, type TargetFactory } from '../../src/deploy/create-target.js'
import { createGitWorkspaces } from '../../src/git/create-git-workspaces.js'
import { resetBotIdentity } from '../../src/github/bot-identity.js'
import { devsysApp } from '../../src/index.js'
import { createGenerateJob, type GenerateDeps } from '../../src/jobs/generate-task.js'
import { createInProcessQueue } from '../../src/queue/in-process-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import type { JobHandler } from '../../src/queue/types.js'
import { redactingAuth } from '../../src/secrets/redact-github-requests.js'
import { registerConfigSecrets } from '../../src/secrets/register-config-secrets.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { createTestProbot, testLogger } from '../helpers/github.js'

/** DevSys as a test sees it: a real Probot with the app loaded, a real SQLite store and queue (the queue's state in the same file). */
export interface IntakeHarness {
  probot: Probot
  store: Store
  queue: Queue
  /** DATA_DIR of this DevSys (local deploys live under deploys/). */
  dataDir: string
  /** Delivers an event through Probot (as the webhook server would) and waits for its jobs. */
  deliver(name: string, payload: object, id?: string): Promise<void>
  close(): Promise<void>
}

export interface IntakeOptions {
  maxAttempts?: number
  /** Where git workspaces make their temporary clones (to check none is left behind). */
  tmpDir?: string
  /** Only these job kinds run; others fail as unknown (tests of one step stop the pipeline there). */
  jobs?: string[]
  /** The test runner (default: the local runner). */
  runner?: RunnerFor
  /** Deploy targets (default: DevSys's own, local environments served by php -S). */
  targets?: TargetFactory
  /** The Docker engine of the php target (see test/helpers/docker-loopback.ts). */
  docker?: Dockerode
  deployTuning?: JobDeps['deployTuning']
  /** An existing DATA_DIR, kept on close: DevSys restarted over what a previous process left. */
  dataDir?: string
  /** The queue's job lease (default the queue's 30 s): short where a test kills a worker. */
  leaseMs?: number
  /**
   * More of DevSys's environment (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, MANAGER_API_TOKEN,
   * ACCEPTANCE_ALLOWED_HOSTS…): its secrets are registered for redaction as src/boot.ts does.
   */
  env?: Record<string, string>
  /**
   * Settings of the generate job beyond boot's (the self-fix loop's runner, a generator that
   * reports activity, a clock, the agent's sandbox): the job is then built with them. The
   * runner defaults to the harness's test runner.
   */
  generate?: Partial<Pick<GenerateDeps, 'runner' | 'createGenerator' | 'now' | 'sandbox'>>
  /** The monitor's clock and its incident listener (test/jobs/monitor.test.ts). */
  monitor?: Pick<JobDeps, 'monitorNow' | 'onIncident' | 'onMonitorChecked'>
}

export async function startIntake(opts: IntakeOptions = {}): Promise<IntakeHarness> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'devsys-intake-'))
  const loaded = loadEnv({ ...opts.env, DATA_DIR: dataDir })
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
  const config = loaded.config
  registerConfigSecrets(config)
  const log = testLogger()
  const store = openSqliteStore({ dataDir })
  let probot: Probot | undefined
  const enqueue: Enqueue = (job, options) => queue.enqueue(job, options)
  const targets = createTargets({
    dataDir,
    deploy: config.deploy,
    log,
    ...(opts.docker === undefined ? {} : { docker: opts.docker }),
  })
  const runner = opts.runner ?? (async () => createLocalRunner())
  const git = createGitWorkspaces({
    cacheDir: join(dataDir, 'git'),
    ...(opts.tmpDir === undefined ? {} : { tmpDir: opts.tmpDir }),
    log,
  })
  const auth: GitHubAuth = (installationId) => {
    if (!probot) throw new Error('probot not ready')
    return probot.auth(installationId)
  }
  const handlers = jobHandlers({
    store,
    config,
    enqueue,
    runner,
    targets: opts.targets ?? targets.targetFor,
    deployTuning: opts.deployTuning ?? {
      acceptance: { retries: 1, retryDelayMs: 50 },
      // A command waits this long for a held deploy lock before it is answered "busy".
      lockWaitMs: 500,
    },
    git,
    auth,
    ...opts.monitor,
  })
  const generate = opts.generate
  const queue: Queue = createInProcessQueue({
    jobs: openSqliteJobStore({ dataDir }),
    handlers: onlyJobs(
      opts.jobs,
      generate === undefined
        ? handlers
        : handlers.map((h) =>
            h.kind === 'generate'
              ? (createGenerateJob({
                  store,
                  auth: redactingAuth(auth),
                  git,
                  enqueue,
                  maxManifestBytes: config.maxManifestBytes,
                  runner,
                  ...generate,
                }) as JobHandler)
              : h,
          ),
    ),
    log,
    maxAttempts: opts.maxAttempts ?? 2,
    ...(opts.leaseMs === undefined ? {} : { leaseMs: opts.leaseMs }),
    backoff: { baseMs: 5, maxMs: 20 },
    pollMs: 20,
  })
  resetBotIdentity()
  probot = await createTestProbot()
  await probot.load(devsysApp({ config, store, queue, log }), {
    cwd: process.cwd(),
    addHandler: () => {},
  })
  queue.start()
  let deliveries = 0
  return {
    probot,
    store,
    queue,
    dataDir,
    async deliver(name, payload, id) {
      deliveries += 1
      await probot.receive({ id: id ?? `delivery-${deliveries}`, name, payload } as Parameters<
        Probot['receive']
      >[0])
      await queue.drain()
    },
    async close() {
      await queue.stop()
      await targets.close()
      await queue.close()
      await store.close()
      if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

function onlyJobs(kinds: string[] | undefined, handlers: JobHandler[]): JobHandler[] {
  return kinds === undefined ? handlers : handlers.filter((h) => kinds.includes(h.kind))
}

/** Starts a fresh harness before each test and closes it after; call the result inside tests. */
export function useIntake(opts: IntakeOptions = {}): () => IntakeHarness {
  let current: IntakeHarness | undefined
  beforeEach(async () => {
    current = await startIntake(opts)
  })
  afterEach(async () => {
    await current?.close()
    current = undefined
  })
  return () => {
    if (!current) throw new Error('useIntake(): the harness only exists inside a test')
    return current
  }
}

/** A repository label as GitHub sends it in payloads. */
export function testLabel(name: string) {
  return {
    id: 1,
    node_id: 'LA_test',
    url: `https://api.github.com/repos/Codertocat/Hello-World/labels/${name}`,
    name,
    color: 'ededed',
    default: false,
    description: null,
  }
}
