import type { Logger } from 'pino'
import type { ProbotOctokit } from 'probot'
import type { Runner } from '../runner/types.js'
import type { AppConfig } from './config/load-env.js'
import type { RepoConfig } from './config/load-repo-config.js'
import type { Notify } from './notify/events.js'
import type { Enqueue, Queue } from './queue/queue.js'
import type {
  ApiTokenStore,
  AuditStore,
  CommentStore,
  DeploymentStore,
  GenerationStore,
  LockStore,
  MonitorStore,
  NotificationStore,
  TaskStore,
  TestRunStore,
} from './store/store.js'

/** An installation-authenticated GitHub client, as Probot builds it. */
export type GitHubClient = InstanceType<typeof ProbotOctokit>

/** Everything DevSys's handlers share, built once at start (src/boot.ts). */
export interface AppDeps {
  config: AppConfig
  /** The store parts the manager API and the dashboard read and write (and audit to); webhook handlers use none. */
  store: TaskStore &
    TestRunStore &
    GenerationStore &
    DeploymentStore &
    LockStore &
    Pick<MonitorStore, 'getMonitorState'> &
    NotificationStore &
    AuditStore &
    ApiTokenStore
  /** Webhook handlers and the API only enqueue (the dashboard lists jobs); jobs run in the worker. */
  queue: { enqueue: Enqueue; listJobs: Queue['listJobs']; countJobs: Queue['countJobs'] }
  log: Logger
}

/**
 * Returns a GitHub client for an installation, or authenticated as the app itself when no
 * installation is given; jobs use it, webhook handlers never do.
 */
export type GitHubAuth = (installationId?: number) => Promise<GitHubClient>

/** The runner for a repo config's choice (local, docker, remote-ssh or auto), made per run. */
export type RunnerFor = (kind: RepoConfig['runner'], log: Logger) => Promise<Runner>

/** What the intake jobs (labelled issues and pushed manifests) need. */
export interface IntakeDeps {
  store: TaskStore & CommentStore
  auth: GitHubAuth
  /** Starts follow-up jobs (the generation of an accepted task). */
  enqueue: Enqueue
  maxManifestBytes: number
  /** Tells the repository's subscribers of tasks accepted and manifests refused. */
  notify?: Notify | undefined
}

export type { Enqueue }
