/**
 * Issue 13, item 3, as an operator sees it: a worker (DEVSYS_ROLE=worker) gets SIGTERM while a
 * job runs (a rolling update, `docker stop`). It stops claiming, gives the job SHUTDOWN_GRACE_MS,
 * aborts it, hands it back to the queue and exits 0; the next worker on the same queue state
 * runs the job at once. Nothing is lost and no lease has to expire.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { holdingGitHub, until } from '../helpers/holding-github.js'
import { jobOf } from '../store/support.js'
import { type DevsysProcess, startDevsysProcess } from './devsys-process.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

it('SIGTERM during a job: the worker exits 0, and the next worker runs the job handed back', async () => {
  const ghe = await holdingGitHub()
  cleanups.push(() => ghe.close())
  const dataDir = mkdtempSync(join(tmpdir(), 'devsys-e2e-shutdown-'))
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
  const env = {
    DEVSYS_ROLE: 'worker',
    DEVSYS_QUEUES: 'deploy',
    SHUTDOWN_GRACE_MS: '1000',
    LOG_LEVEL: 'info',
  }
  const started: DevsysProcess[] = []
  cleanups.push(async () => {
    for (const p of started) await p.kill()
  })
  const first = await startDevsysProcess({ gheHost: ghe.host, dataDir, env })
  started.push(first)

  // Queued as a receiver would: another client of the queue state in DATA_DIR.
  const jobs = openSqliteJobStore({ dataDir })
  cleanups.push(() => jobs.close())
  const job = jobOf(
    await jobs.enqueue({
      kind: 'revert',
      key: 'revert:e2e-shutdown',
      maxAttempts: 2,
      payload: {
        installationId: 1234,
        repo: {
          owner: 'octo',
          name: 'blog',
          fullName: 'octo/blog',
          cloneUrl: `http://${ghe.host}/octo/blog.git`,
          htmlUrl: `http://${ghe.host}/octo/blog`,
          defaultBranch: 'main',
        },
        sha: 'c'.repeat(40),
        deployment: 1,
        environment: 'production',
        reason: 'e2e',
        actor: 'octo',
      },
    }),
  )
  // Its first request (an installation token) is held: the job is certainly running.
  await until('the worker runs the job', () => ghe.held() > 0, 15_000)
  const firstLock = (await jobs.getJob(job.id))?.lockedBy
  expect(firstLock).toContain(`:${first.pid}:`)

  const exited = first.stop() // SIGTERM
  await until('the job is aborted', () => first.output().includes('aborting them'), 15_000)
  ghe.release()
  expect(await exited).toBe(0)
  const log = first.output()
  for (const phase of [
    'DevSys is stopping',
    'Worker: claiming no more jobs',
    'Jobs still running at shutdown; aborting them',
    'Job interrupted by shutdown; queued again',
    'DevSys stopped',
  ]) {
    expect(log).toContain(phase)
  }
  const handedBack = await jobs.getJob(job.id)
  expect(handedBack).toMatchObject({ state: 'queued', attempts: 1, lockedBy: null })
  expect(handedBack?.lastError).toContain('DevSys stopped during the job')

  const next = await startDevsysProcess({ gheHost: ghe.host, dataDir, env })
  started.push(next)
  await until(
    'the next worker finishes the job',
    async () => (await jobs.getJob(job.id))?.state === 'failed',
    15_000,
  )
  const after = await jobs.getJob(job.id)
  // The second attempt ran in the next worker, and got as far as GitHub's answer.
  expect(after).toMatchObject({ state: 'failed', attempts: 2 })
  expect(after?.lockedBy).toContain(`:${next.pid}:`)
  expect(after?.lastError).toContain('stop here')
  expect(next.output()).not.toContain('Job worker died')
}, 90_000)
