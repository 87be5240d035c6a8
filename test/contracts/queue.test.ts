import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Queue } from '../../src/queue/queue.js'
import type { JobHandler } from '../../src/queue/types.js'
import { done } from '../queue/queue-fixture.js'
import { type Deferred, deferred, jobOf } from '../store/support.js'
import {
  type QueueHandle,
  type QueueImplementation,
  queueImplementations,
} from './implementations.js'

/** The Queue port (src/queue/queue.ts): what every queue implementation must do. */
function queueContract(impl: QueueImplementation) {
  let q: QueueHandle
  beforeEach(async () => {
    q = await impl.open()
  })
  afterEach(async () => {
    await q.close()
  })

  describe('jobs', () => {
    it('runs a coalesced job once, with the newer payload', async () => {
      const seen: unknown[] = []
      const queue = q.make([
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
            { delivery: { id: 'd1', event: 'issues' } },
          )
        ).kind,
      ).toBe('enqueued')
      expect(
        (
          await queue.enqueue(
            { kind: 'gen', key: 'task:a', payload: { v: 2 } },
            { delivery: { id: 'd2', event: 'issues' } },
          )
        ).kind,
      ).toBe('coalesced')
      expect(
        (
          await queue.enqueue(
            { kind: 'gen', key: 'task:a', payload: { v: 9 } },
            { delivery: { id: 'd2', event: 'issues' } },
          )
        ).kind,
      ).toBe('duplicate-delivery')
      queue.start()
      await queue.drain()
      expect(seen).toEqual([{ v: 2 }])
      expect((await queue.listJobs()).map((j) => [j.state, j.attempts, j.maxAttempts])).toEqual([
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
      const queue = q.make([handler as JobHandler], { concurrency: 4 })
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
      expect((await queue.listJobs()).map((j) => [j.key, j.state])).toEqual([
        ['A', 'done'],
        ['A', 'done'],
        ['B', 'done'],
      ])
    })

    it('retries a failing job with backoff until it succeeds', async () => {
      const attempts: number[] = []
      const failed: string[] = []
      const queue = q.make([
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
      expect(await queue.getJob(job.id)).toMatchObject({
        state: 'done',
        attempts: 3,
        outcome: done('third time lucky'),
        lastError: 'GitHub said 502 (2)',
      })
    })

    it('fails a job after maxAttempts and calls onFailed exactly once', async () => {
      const failed: { error: string; state: string; attempts: number }[] = []
      const queue = q.make(
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
      expect(await queue.getJob(job.id)).toMatchObject({
        state: 'failed',
        attempts: 3,
        maxAttempts: 3,
        lastError: 'boom 3',
      })
      const after = jobOf(await queue.enqueue({ kind: 'ok', key: 'k2', payload: {} }))
      await queue.drain()
      expect((await queue.getJob(after.id))?.state).toBe('done')
    })

    it('fails a job of an unknown kind with an error that says why', async () => {
      const queue = q.make([{ kind: 'known', run: async () => done('ok') }])
      const job = jobOf(await queue.enqueue({ kind: 'mystery', key: 'k', payload: {} }))
      queue.start()
      await queue.drain()
      const stored = await queue.getJob(job.id)
      expect(stored?.state).toBe('failed')
      expect(stored?.lastError).toMatch(/No handler for job kind "mystery".*it runs: known/)
    })
  })

  describe('workers split by kind', () => {
    it('a worker that handles only some kinds leaves the others queued', async () => {
      const ran: string[] = []
      const handler = (kind: string): JobHandler => ({
        kind,
        async run(payload) {
          ran.push(`${kind}:${(payload as { n: number }).n}`)
          return done('ok')
        },
      })
      const tester = q.make([handler('run-tests')], { ownKindsOnly: true })
      const gen = jobOf(
        await tester.enqueue({ kind: 'generate', key: 'task:a', payload: { n: 1 } }),
      )
      const tests = jobOf(
        await tester.enqueue({ kind: 'run-tests', key: 'task:b', payload: { n: 2 } }),
      )
      tester.start()
      await tester.drain()
      expect(ran).toEqual(['run-tests:2'])
      expect(await tester.getJob(tests.id)).toMatchObject({ state: 'done', attempts: 1 })
      // Not failed as an unknown kind: untouched, for a worker that runs it.
      expect(await tester.getJob(gen.id)).toMatchObject({
        state: 'queued',
        attempts: 0,
        lastError: null,
      })
      const generator = q.make([handler('generate')], { ownKindsOnly: true })
      generator.start()
      await generator.drain()
      expect(ran).toEqual(['run-tests:2', 'generate:1'])
      expect(await generator.getJob(gen.id)).toMatchObject({ state: 'done', attempts: 1 })
    })
  })

  describe('deliveries and ids', () => {
    it('remembers a delivery after its job ran: a redelivery writes nothing', async () => {
      const queue = q.make([{ kind: 'ping', run: async () => done('pong') }])
      queue.start()
      const job = jobOf(
        await queue.enqueue(
          { kind: 'ping', key: 'k', payload: {} },
          { delivery: { id: 'dlv-1', event: 'issues' } },
        ),
      )
      await queue.drain()
      expect(
        await queue.enqueue(
          { kind: 'ping', key: 'k', payload: {} },
          { delivery: { id: 'dlv-1', event: 'issues' } },
        ),
      ).toEqual({ kind: 'duplicate-delivery', deliveryId: 'dlv-1' })
      expect(await queue.hasDelivery('dlv-1')).toBe(true)
      expect(await queue.hasDelivery('dlv-2')).toBe(false)
      expect(typeof job.id).toBe('string')
      expect(await queue.getJob(job.id)).toMatchObject({ state: 'done', deliveryId: 'dlv-1' })
      expect(await queue.getJob('no-such-job')).toBeUndefined()
      expect(await queue.listJobs({ state: 'queued' })).toEqual([])
    })
  })

  describe('schedules', () => {
    /** Waits until `done` jobs finished, then a while longer, in which no other may start. */
    async function settle(queues: Queue[], count: number) {
      const deadline = Date.now() + 5_000
      const finished = async () => (await queues[0]?.listJobs({ state: 'done' }))?.length ?? 0
      while ((await finished()) < count && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20))
      }
      await new Promise((r) => setTimeout(r, 150))
      for (const queue of queues) await queue.drain()
    }

    it('runs a delayed job once, after its delay', async () => {
      const ran: number[] = []
      const queue = q.make([
        {
          kind: 'later',
          async run() {
            ran.push(Date.now())
            return done('later')
          },
        },
      ])
      queue.start()
      const before = Date.now()
      await queue.schedule({
        name: 'later',
        job: { kind: 'later', key: 'later', payload: { n: 1 } },
        delayMs: 300,
      })
      // drain() does not wait for a delay that has not passed.
      await queue.drain()
      expect(ran).toEqual([])
      await settle([queue], 1)
      expect(ran).toHaveLength(1)
      expect((ran[0] ?? 0) - before).toBeGreaterThanOrEqual(300)
      expect(await queue.listJobs()).toMatchObject([
        { kind: 'later', state: 'done', payload: { n: 1 }, attempts: 1 },
      ])
    })

    it('runs a repeating job once per interval, however many processes register it', async () => {
      const every = 60_000
      // The clock starts just after a slot begins and jumps a slot at a time.
      let offset = Math.ceil(Date.now() / every) * every - Date.now() + 10
      const now = () => Date.now() + offset
      const runs: number[] = []
      const handler: JobHandler = {
        kind: 'tick',
        async run() {
          runs.push(now())
          return done('tick')
        },
      }
      const queues = [q.make([handler], { now }), q.make([handler], { now })]
      const schedule = {
        name: 'tick',
        job: { kind: 'tick', key: 'tick', payload: {} },
        everyMs: every,
      }
      for (const queue of queues) {
        await queue.schedule(schedule)
        queue.start()
      }
      await settle(queues, 1)
      expect(runs).toHaveLength(1)
      offset += every
      await settle(queues, 2)
      expect(runs).toHaveLength(2)
      // Registering again (a restart) does not run the current slot a second time.
      await queues[1]?.schedule(schedule)
      await settle(queues, 2)
      expect(runs).toHaveLength(2)
      // Two slots pass at once (no process was running): one run, not a catch-up of both.
      offset += 2 * every
      await settle(queues, 3)
      expect(runs).toHaveLength(3)
      const slots = runs.map((t) => Math.floor(t / every))
      expect(slots.map((s) => s - (slots[0] ?? 0))).toEqual([0, 1, 3])
      expect((await queues[0]?.listJobs())?.map((j) => [j.kind, j.state])).toEqual([
        ['tick', 'done'],
        ['tick', 'done'],
        ['tick', 'done'],
      ])
    })
  })
}

describe.each(queueImplementations)('Queue: $name', queueContract)
