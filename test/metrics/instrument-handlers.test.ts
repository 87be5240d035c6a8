/** Job attempts timed and counted as the queue runs them, through the wrapped handlers. */
import { afterEach, beforeEach, expect, it } from 'vitest'
import { instrumentHandlers } from '../../src/metrics/instrument-handlers.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { createInProcessQueue } from '../../src/queue/in-process-queue.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import type { JobHandler } from '../../src/queue/types.js'
import { silentLog, tempDir } from '../store/support.js'

let tmp: ReturnType<typeof tempDir>
let queue: Queue | undefined

beforeEach(() => {
  tmp = tempDir('devsys-metrics-jobs-')
})
afterEach(async () => {
  await queue?.close()
  tmp.remove()
})

it('counts each attempt by kind and result, and still tells the user of a job that failed for good', async () => {
  const told: string[] = []
  const handlers: JobHandler[] = [
    { kind: 'quick', run: async () => ({ status: 'done', summary: 'ok' }) },
    {
      kind: 'picky',
      run: async () => ({ status: 'rejected', reason: 'no-permission', summary: 'refused' }),
    },
    {
      kind: 'broken',
      run: async () => {
        throw new Error('GitHub is unreachable')
      },
      async onFailed(_payload, error) {
        told.push(error)
      },
    },
  ]
  const metrics = createMetrics({
    queue: { countJobs: () => (queue as Queue).countJobs() },
    deployments: { countDeployments: async () => [] },
    webhookEvents: [],
  })
  queue = createInProcessQueue({
    jobs: openSqliteJobStore({ dataDir: tmp.dir }),
    handlers: instrumentHandlers(handlers, metrics),
    log: silentLog,
    backoff: { baseMs: 1, maxMs: 1 },
  })
  queue.start()
  await queue.enqueue({ kind: 'quick', key: 'a', payload: {} })
  await queue.enqueue({ kind: 'quick', key: 'b', payload: {} })
  await queue.enqueue({ kind: 'picky', key: 'c', payload: {} })
  await queue.enqueue({ kind: 'broken', key: 'd', payload: {}, maxAttempts: 2 })
  await queue.drain()

  const text = (await metrics.render()).body
  expect(text).toContain('devsys_job_duration_seconds_count{kind="quick",result="done"} 2')
  expect(text).toContain('devsys_job_duration_seconds_count{kind="picky",result="rejected"} 1')
  expect(text).toContain('devsys_job_duration_seconds_count{kind="broken",result="error"} 2')
  expect(text).toContain('devsys_job_failures_total{kind="broken"} 2')
  expect(text).not.toContain('devsys_job_failures_total{kind="quick"}')
  expect(told).toEqual(['GitHub is unreachable'])
})
