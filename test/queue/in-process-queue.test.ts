import { describe, expect, it } from 'vitest'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { capturingLog, deferred, jobOf } from '../store/support.js'
import { done, useQueueFixture } from './queue-fixture.js'

const fx = useQueueFixture()
const makeQueue = fx.makeQueue

describe('the in-process queue: leases, shutdown and recovery', () => {
  it('runs a job as soon as it is enqueued, without waiting for the poll', async () => {
    const ran = deferred<number>()
    const queue = makeQueue(
      [
        {
          kind: 'ping',
          async run() {
            ran.resolve(Date.now())
            return done('pong')
          },
        },
      ],
      {
        pollMs: 60_000,
      },
    )
    queue.start()
    await new Promise((r) => setTimeout(r, 50)) // let the start-up poll pass
    const before = Date.now()
    const job = jobOf(await queue.enqueue({ kind: 'ping', key: 'k', payload: {} }))
    expect((await ran.promise) - before).toBeLessThan(500)
    await queue.drain()
    expect(await fx.jobs().getJob(job.id)).toMatchObject({ state: 'done', outcome: done('pong') })
  })

  it('aborts a job whose lease another worker took, and does not record its result', async () => {
    const started = deferred<string>()
    const aborted = deferred<unknown>()
    const queue = makeQueue(
      [
        {
          kind: 'slow',
          async run(_p, ctx) {
            started.resolve(ctx.job.id)
            await new Promise((r) => ctx.signal.addEventListener('abort', r))
            aborted.resolve(ctx.signal.reason)
            return done('stale result')
          },
        },
      ],
      { leaseMs: 300 },
    )
    await queue.enqueue({ kind: 'slow', key: 'k', payload: {} })
    queue.start()
    const id = await started.promise
    // Another process whose clock is ahead sees the lease expired and takes the job over.
    const other = openSqliteJobStore({ dataDir: fx.dir(), now: () => Date.now() + 10_000 })
    expect(await other.recoverJob(id, 'lease expired', 0)).toMatchObject({ state: 'queued' })
    expect(await other.claimJob('other-worker', 60_000)).toMatchObject({ id, attempts: 2 })
    expect(String(await aborted.promise)).toMatch(/lost the lease/)
    await new Promise((r) => setTimeout(r, 100))
    expect(await fx.jobs().getJob(id)).toMatchObject({
      state: 'running',
      lockedBy: 'other-worker',
      outcome: null,
    })
    expect(await other.completeJob(id, 'other-worker', done('fresh result'))).toBe(true)
    await other.close()
    expect((await fx.jobs().getJob(id))?.outcome).toEqual(done('fresh result'))
  })

  it('stop() lets a quick job finish, then aborts a slow one and queues it again', async () => {
    const quickGate = deferred()
    const slowStarted = deferred()
    const quickStarted = deferred()
    const queue = makeQueue([
      {
        kind: 'quick',
        async run() {
          quickStarted.resolve()
          await quickGate.promise
          return done('quick')
        },
      },
      {
        kind: 'slow',
        async run(_p, ctx) {
          slowStarted.resolve()
          await new Promise((r) => ctx.signal.addEventListener('abort', r))
          throw new Error('aborted by shutdown')
        },
      },
    ])
    const quick = jobOf(await queue.enqueue({ kind: 'quick', key: 'q', payload: {} }))
    const slow = jobOf(await queue.enqueue({ kind: 'slow', key: 's', payload: {} }))
    queue.start()
    await Promise.all([quickStarted.promise, slowStarted.promise])
    setTimeout(() => quickGate.resolve(), 50)
    await queue.stop()
    expect(await fx.jobs().getJob(quick.id)).toMatchObject({ state: 'done' })
    expect(await fx.jobs().getJob(slow.id)).toMatchObject({
      state: 'queued',
      attempts: 1,
      lastError: 'DevSys stopped during the job: aborted by shutdown',
    })
  })

  it('logs job ids, never payloads', async () => {
    const { log, lines } = capturingLog()
    let calls = 0
    const queue = makeQueue(
      [
        {
          kind: 'gen',
          async run() {
            if (++calls === 1) throw new Error('transient')
            return done('ok')
          },
        },
      ],
      { log },
    )
    const job = jobOf(
      await queue.enqueue(
        { kind: 'gen', key: 'task:x', payload: { token: 'ghs_SECRET123' } },
        { delivery: { id: 'dlv-1', event: 'issues' } },
      ),
    )
    queue.start()
    await queue.drain()
    const logged = lines.join('')
    expect(logged).not.toContain('ghs_SECRET123')
    const started = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'Job started')
    expect(started).toHaveLength(2)
    expect(started[0]).toMatchObject({
      job: job.id,
      kind: 'gen',
      key: 'task:x',
      delivery: 'dlv-1',
      attempt: 1,
    })
  })

  it('recover() requeues a job whose worker died, in this process', async () => {
    const job = jobOf(
      await fx.jobs().enqueue({ kind: 'gen', key: 'k', payload: {}, maxAttempts: 2 }),
    )
    await fx.jobs().claimJob('dead-worker', 20)
    await new Promise((r) => setTimeout(r, 40))
    const attempts: number[] = []
    const queue = makeQueue([
      {
        kind: 'gen',
        async run(_p, ctx) {
          attempts.push(ctx.job.attempts)
          return done('ok')
        },
      },
    ])
    expect(await queue.recover()).toBe(1)
    expect(await fx.jobs().getJob(job.id)).toMatchObject({ state: 'queued', lockedBy: null })
    queue.start()
    await queue.drain()
    expect(attempts).toEqual([2])
  })
})
