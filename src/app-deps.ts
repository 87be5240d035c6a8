import type { Logger } from 'pino'
import type { ProbotOctokit } from 'probot'
import type { AppConfig } from './config/load-env.js'
import type { EnqueueResult, NewJob, Store } from './store/store.js'

/** An installation-authenticated GitHub client, as Probot builds it. */
export type GitHubClient = InstanceType<typeof ProbotOctokit>

/** Everything DevSys's handlers share, built once at start (src/boot.ts). */
export interface AppDeps {
  config: AppConfig
  store: Store
  queue: { enqueue(job: NewJob, delivery?: { id: string; event: string }): Promise<EnqueueResult> }
  log: Logger
}

/**
 * Returns a GitHub client for an installation, or authenticated as the app itself when no
 * installation is given; jobs use it, webhook handlers never do.
 */
export type GitHubAuth = (installationId?: number) => Promise<GitHubClient>

/** The queue's enqueue, as jobs use it to start follow-up jobs. */
export type Enqueue = AppDeps['queue']['enqueue']
