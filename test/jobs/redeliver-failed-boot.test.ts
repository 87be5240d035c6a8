/**
 * REDELIVERY_INTERVAL_SECONDS at boot: a process running the `monitor` queue registers the scan,
 * one interval after start; interval 0, or a process without that queue, registers nothing.
 */
import nock from 'nock'
import { expect, it } from 'vitest'
import type { Devsys } from '../../src/boot.js'
import { useDevsys } from '../helpers/boot-devsys.js'
import { GITHUB_API, useGitHubMock } from '../helpers/github.js'
import { until } from '../helpers/holding-github.js'

useGitHubMock()

const booted = useDevsys('redeliver-boot-secret', 'devsys-redeliver-boot-')

/** A worker (DEVSYS_ROLE=worker) with `env`. */
function start(env: Record<string, string>): Promise<Devsys> {
  return booted.start({ DEVSYS_ROLE: 'worker', ...env })
}

const scans = (devsys: Devsys) => devsys.queue.listJobs({ kind: 'redeliver-failed' })

it('scans the delivery log one interval after start on a monitor worker, and never elsewhere or at 0', async () => {
  const list = nock(GITHUB_API)
    .persist()
    .get('/app/hook/deliveries')
    .query({ per_page: '100' })
    .reply(200, [])
  const startedAt = Date.now()
  const monitor = await start({ DEVSYS_QUEUES: 'monitor', REDELIVERY_INTERVAL_SECONDS: '1' })
  const off = await start({ DEVSYS_QUEUES: 'monitor', REDELIVERY_INTERVAL_SECONDS: '0' })
  const deployOnly = await start({ DEVSYS_QUEUES: 'deploy', REDELIVERY_INTERVAL_SECONDS: '1' })
  const allStarted = Date.now()

  await until('the first scan is done', async () =>
    (await scans(monitor)).some((job) => job.state === 'done'),
  )
  const [first] = await scans(monitor)
  expect(first?.deliveryId).toMatch(/^schedule:redeliver-failed:\d+$/)
  expect(Date.parse(first?.createdAt ?? '') - startedAt).toBeGreaterThanOrEqual(900)
  expect(list.isDone()).toBe(true)
  // The others get as long, and more, to enqueue a scan of their own.
  await until('the others had an interval and more', () => Date.now() - allStarted > 1300)
  expect(await scans(off)).toEqual([])
  expect(await scans(deployOnly)).toEqual([])
})
