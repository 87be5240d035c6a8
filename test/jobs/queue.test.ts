import { describe, expect, it } from 'vitest'
import type { JobHandler } from '../../src/queue/types.js'
import { type Deferred, deferred, jobOf } from '../store/support.js'
import { done, useQueueFixture } from './queue-fixture.js'

const fx = useQueueFixture()
const makeQueue = fx.makeQueue

describe('queue', () => {
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
    expect(await fx.store().getJob(job.id)).toMatchObject({ state: 'done', outcome: done('pong') })
  })

  it('runs a coalesced job once, with the newer payload', async () => {
    const seen: unknown[] = []
    const queue = makeQueue([
      {
        kind: 'gen',
        async run(payload) {
          seen.push(payload)
          return done('ok')
        },
      },
    ])
    expect(
      (
        await queue.enqueue(
          { kind: 'gen', key: 'task:a', payload: { v: 1 } },
          { id: 'd1', event: 'issues' },
        )
      ).kind,
    ).toBe('enqueued')
    expect(
      (
        await queue.enqueue(
          { kind: 'gen', key: 'task:a', payload: { v: 2 } },
          { id: 'd2', event: 'issues' },
        )
      ).kind,
    ).toBe('coalesced')
    expect(
      (
        await queue.enqueue(
          { kind: 'gen', key: 'task:a', payload: { v: 9 } },
          { id: 'd2', event: 'issues' },
        )
      ).kind,
    ).toBe('duplicate-delivery')
    queue.start()
    await queue.drain()
    expect(seen).toEqual([{ v: 2 }])
    expect((await fx.store().listJobs()).map((j) => [j.state, j.attempts, j.maxAttempts])).toEqual([
      ['done', 1, 5],
    ])
  })

  it('never runs two jobs of one key at once, while other keys run in parallel', async () => {
    // Per job name: `started` resolves when the handler runs, `gate` lets it finish.
    const gates = new Map<string, { gate: Deferred<void>; started: Deferred<void> }>()
    const gate = (name: string) => {
      const existing = gates.get(name)
      if (existing) return existing
      const created = { gate: deferred(), started: deferred() }
      gates.set(name, created)
      return created
    }
    const perKey = new Map<string, number>()
    const maxPerKey = new Map<string, number>()
    const events: string[] = []
    let running = 0
    let maxRunning = 0
    const handler: JobHandler<{ key: string; name: string }> = {
      kind: 'block',
      async run({ key, name }) {
        perKey.set(key, (perKey.get(key) ?? 0) + 1)
        maxPerKey.set(key, Math.max(maxPerKey.get(key) ?? 0, perKey.get(key) ?? 0))
        maxRunning = Math.max(maxRunning, ++running)
        events.push(`start ${name}`)
        gate(name).started.resolve()
        await gate(name).gate.promise
        events.push(`end ${name}`)
        running--
        perKey.set(key, (perKey.get(key) ?? 0) - 1)
        return done(name)
      },
    }
    const queue = makeQueue([handler as JobHandler], { concurrency: 4 })
    queue.start()
    const enqueue = (key: string, name: string) =>
      queue.enqueue({ kind: 'block', key, payload: { key, name } })

    await enqueue('A', 'A1')
    await gate('A1').started.promise
    await enqueue('A', 'A2') // A1 is running, so this is a new queued job, not coalesced
    await enqueue('B', 'B1')
    await gate('B1').started.promise // B runs while A1 still holds key A
    await new Promise((r) => setTimeout(r, 100)) // time enough for a wrong claim of A2
    expect(events).toEqual(['start A1', 'start B1'])
    gate('A1').gate.resolve()
    await gate('A2').started.promise
    gate('A2').gate.resolve()
    gate('B1').gate.resolve()
    await queue.drain()

    expect(maxPerKey.get('A')).toBe(1)
    expect(maxRunning).toBe(2)
    expect(events.indexOf('start A2')).toBeGreaterThan(events.indexOf('end A1'))
    expect((await fx.store().listJobs()).map((j) => [j.key, j.state])).toEqual([
      ['A', 'done'],
      ['A', 'done'],
      ['B', 'done'],
    ])
  })

  it('retries a failing job with backoff until it succeeds', async () => {
    const attempts: number[] = []
    const failed: string[] = []
    const queue = makeQueue([
      {
        kind: 'flaky',
        async run(_p, ctx) {
          attempts.push(ctx.job.attempts)
          if (ctx.job.attempts < 3) throw new Error(`GitHub said 502 (${ctx.job.attempts})`)
          return done('third time lucky')
        },
        onFailed: async (_p, error) => void failed.push(error),
      },
    ])
    const job = jobOf(await queue.enqueue({ kind: 'flaky', key: 'k', payload: {} }))
    queue.start()
    await queue.drain()
    expect(attempts).toEqual([1, 2, 3])
    expect(failed).toEqual([])
    expect(await fx.store().getJob(job.id)).toMatchObject({
      state: 'done',
      attempts: 3,
      outcome: done('third time lucky'),
      lastError: 'GitHub said 502 (2)',
    })
  })

  it('fails a job after maxAttempts and calls onFailed exactly once', async () => {
    const failed: { error: string; state: string; attempts: number }[] = []
    const queue = makeQueue(
      [
        {
          kind: 'broken',
          async run(_p, ctx) {
            throw new Error(`boom ${ctx.job.attempts}`)
          },
          async onFailed(_p, error, ctx) {
            failed.push({ error, state: ctx.job.state, attempts: ctx.job.attempts })
            throw new Error('reporting failed too') // must not stop the queue
          },
        },
        { kind: 'ok', run: async () => done('still working') },
      ],
      { maxAttempts: 3 },
    )
    const job = jobOf(await queue.enqueue({ kind: 'broken', key: 'k1', payload: {} }))
    queue.start()
    await queue.drain()
    expect(failed).toEqual([{ error: 'boom 3', state: 'failed', attempts: 3 }])
    expect(await fx.store().getJob(job.id)).toMatchObject({
      state: 'failed',
      attempts: 3,
      maxAttempts: 3,
      lastError: 'boom 3',
    })
    const after = jobOf(await queue.enqueue({ kind: 'ok', key: 'k2', payload: {} }))
    await queue.drain()
    expect((await fx.store().getJob(after.id))?.state).toBe('done')
  })

  it('fails a job of an unknown kind with an error that says why', async () => {
    const queue = makeQueue([{ kind: 'known', run: async () => done('ok') }])
    const job = jobOf(await queue.enqueue({ kind: 'mystery', key: 'k', payload: {} }))
    queue.start()
    await queue.drain()
    const stored = await fx.store().getJob(job.id)
    expect(stored?.state).toBe('failed')
    expect(stored?.lastError).toMatch(/No handler for job kind "mystery".*it runs: known/)
  })
})
