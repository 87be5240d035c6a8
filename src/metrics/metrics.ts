import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Queue } from '../queue/queue.js'
import type { DeploymentStore } from '../store/store.js'

/**
 * DevSys's own metrics, in Prometheus's text format at `/metrics` (src/metrics/serve-metrics.ts).
 * Each process keeps its own registry: what it measures itself (webhook answers, job runs,
 * monitor checks) is per process, and Prometheus sums the processes; what every process shares
 * (queue depth and age, the deploy history) is read from the queue and the store on each scrape,
 * so any process answers it whole.
 */
export interface Metrics {
  /** Prometheus's text exposition of every metric. */
  render(): Promise<{ contentType: string; body: string }>
  /** GitHub got its answer to a webhook delivery: the HTTP status, and how long it took. */
  webhookAnswered(event: string, status: number, seconds: number): void
  /** One attempt of a job ended: its outcome status, or `error` when it threw. */
  jobFinished(kind: string, result: JobResult, seconds: number): void
  /** The monitor checked a live environment against its acceptance criteria. */
  monitorChecked(repo: string, environment: string, ok: boolean): void
}

export type JobResult = 'done' | 'skipped' | 'rejected' | 'error'

/** Where the shared figures come from, read on each scrape. */
export interface MetricsSources {
  queue: Pick<Queue, 'countJobs'>
  deployments: Pick<DeploymentStore, 'countDeployments'>
  /**
   * The webhook events DevSys subscribes to (and `ping`); any other `X-GitHub-Event`, sent by
   * whoever reaches the webhook URL, is counted as `other`, so callers cannot grow the label set.
   */
  webhookEvents: readonly string[]
  now?: () => number
}

/** Webhook answers and job runs, in seconds: a webhook should answer in milliseconds, a job may take minutes. */
const ACK_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
const JOB_BUCKETS = [0.05, 0.25, 1, 5, 15, 60, 300, 900, 1800, 3600]

export function createMetrics(sources: MetricsSources): Metrics {
  const now = sources.now ?? Date.now
  const knownEvents = new Set(sources.webhookEvents)
  const registry = new Registry()
  const ack = new Histogram({
    name: 'devsys_webhook_ack_seconds',
    help: 'Time from a webhook request to DevSys answering it (the delivery is durable by then).',
    labelNames: ['event', 'status'],
    buckets: ACK_BUCKETS,
    registers: [registry],
  })
  const jobSeconds = new Histogram({
    name: 'devsys_job_duration_seconds',
    help: 'How long one attempt of a job ran, by kind and result (error: it threw).',
    labelNames: ['kind', 'result'],
    buckets: JOB_BUCKETS,
    registers: [registry],
  })
  const jobFailures = new Counter({
    name: 'devsys_job_failures_total',
    help: 'Job attempts that threw (retried or failed for good), by kind.',
    labelNames: ['kind'],
    registers: [registry],
  })
  const checks = new Counter({
    name: 'devsys_monitor_checks_total',
    help: "Monitor checks of live environments against the manifest's acceptance criteria.",
    labelNames: ['repo', 'environment', 'result'],
    registers: [registry],
  })
  new Gauge({
    name: 'devsys_queue_jobs',
    help: 'Jobs queued or running now, by kind (shared by every DevSys process).',
    labelNames: ['kind', 'state'],
    registers: [registry],
    async collect() {
      this.reset()
      for (const { kind, state, count } of await sources.queue.countJobs()) {
        if (state !== 'failed') this.set({ kind, state }, count)
      }
    },
  })
  new Gauge({
    name: 'devsys_queue_oldest_age_seconds',
    help: 'Age of the oldest job waiting to run, by kind (0 when none waits).',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      this.reset()
      // A delayed job (a retry's backoff, a schedule) is not waiting before it is due.
      for (const { kind, oldestDueAt } of await sources.queue.countJobs()) {
        if (oldestDueAt !== null) this.set({ kind }, (now() - Date.parse(oldestDueAt)) / 1000)
      }
    },
  })
  new Gauge({
    name: 'devsys_deployments',
    help: 'Deploys and rollbacks recorded in the deploy history, by repository, environment, kind and state.',
    labelNames: ['repo', 'environment', 'kind', 'state'],
    registers: [registry],
    async collect() {
      this.reset()
      for (const row of await sources.deployments.countDeployments()) {
        const kind = row.trigger === 'rollback' ? 'rollback' : 'deploy'
        const labels = { repo: row.repo, environment: row.environment, kind, state: row.state }
        this.inc(labels, row.count)
      }
    },
  })
  return {
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() }
    },
    webhookAnswered(event, status, seconds) {
      const label = knownEvents.has(event) ? event : 'other'
      ack.observe({ event: label, status: String(status) }, seconds)
    },
    jobFinished(kind, result, seconds) {
      jobSeconds.observe({ kind, result }, seconds)
      if (result === 'error') jobFailures.inc({ kind })
    },
    monitorChecked(repo, environment, ok) {
      checks.inc({ repo, environment, result: ok ? 'pass' : 'fail' })
    },
  }
}
