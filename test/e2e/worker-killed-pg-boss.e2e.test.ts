/**
 * Issue 13, item 6: a worker is killed with SIGKILL while it runs a task's tests on the pg-boss
 * queue (PostgreSQL), and another worker process on the same database, already running, takes
 * the job over and finishes it: `DevSys / tests` completes on GitHub and no check run is left in
 * progress. How soon depends on what the other worker can know. On the same machine it sees the
 * lease's process gone and requeues the job at its next poll (about a second). A worker on
 * another machine cannot tell a dead worker from a slow one: it waits for the lease to run out
 * (JOB_LEASE_MS after the last renewal), then requeues the job at its next poll.
 */
import { describe, expect, it } from 'vitest'
import { requirePostgres } from '../helpers/postgres.js'
import { requireTool } from '../helpers/require-tool.js'
import type { DevsysProcess } from './devsys-process.js'
import { useE2eWorld } from './e2e-world.js'
import { useGate } from './gated-tests.js'
import {
  BLOG_MANIFEST,
  fileTaskIssue,
  logLines,
  TESTS_CHECK,
  waitForLog,
  waitUntil,
} from './scenario-steps.js'

const ready =
  requireTool('bwrap', 'task tests run in the bubblewrap sandbox') &&
  (await requirePostgres('the workers share the pg-boss queue'))
/** Running DevSys under another host name (unshare --uts) needs root, as CI runs tests. */
const asRoot = process.getuid?.() === 0
if (!asRoot && process.env.CI === 'true') {
  throw new Error('CI must run every test: the other-machine worker needs root (unshare --uts)')
}

const world = useE2eWorld({ postgres: true })
const gate = useGate()

/** The running test job's lease: who holds it and when it runs out (ms since the epoch). */
async function testJobLease() {
  const [row] = (
    await world.database.asAdmin(
      `SELECT data->>'lockedBy' AS locked_by, started_on + expire_in AS lease_ends
       FROM devsys_queue.job WHERE data->>'kind' = 'run-tests' AND state = 'active'`,
    )
  ).rows as { locked_by: string; lease_ends: Date }[]
  return { lockedBy: String(row?.locked_by), leaseEnds: row?.lease_ends.getTime() ?? 0 }
}

/**
 * Steps both cases share: the first worker (role all, under `hostname` if given) runs a task's
 * gated tests, a second worker joins, the first is killed, the gate opens. Returns both, the
 * head and PR, when the kill happened, and the dead worker's lease as it was left.
 */
async function killMidTests(leaseMs: number, hostname?: string) {
  const env = {
    TEST_RUNNER: 'local',
    SANDBOX_READONLY_PATHS: gate.dir,
    JOB_LEASE_MS: String(leaseMs),
  }
  const first = await world.startDevsys({ env, ...(hostname === undefined ? {} : { hostname }) })
  const manifest = JSON.parse(BLOG_MANIFEST) as Record<string, unknown>
  manifest.id = 'gated-tests'
  manifest.tests = {
    command: gate.command(),
    junit: 'build/junit.xml',
    timeoutSeconds: 120,
  }
  const { head, number } = await fileTaskIssue(world, JSON.stringify(manifest, null, 2))

  // 1. The tests run in the first process; a second worker joins the pool meanwhile.
  await waitForLog(first, (l) => l.msg === 'running tests', 'the start of the test command')
  await waitUntil(world, () => gate.processes().length > 0, 'the sandboxed test command')
  const second = await world.startDevsys({ env: { ...env, DEVSYS_ROLE: 'worker' } })
  expect(world.repo.checkRun(TESTS_CHECK, head)).toMatchObject({ status: 'in_progress' })
  expect((await testJobLease()).lockedBy).toContain(`:${first.pid}:`)

  // 2. The first process is killed; nothing of its attempt outlives it.
  expect(await first.kill()).toBe('SIGKILL')
  const killedAt = Date.now()
  const lease = await testJobLease()
  await waitUntil(world, () => gate.processes().length === 0, 'the end of the sandbox', 10_000)
  gate.open()
  return { first, second, head, number, killedAt, lease }
}

/** The second worker's takeover: its log line, and `DevSys / tests` completed by it. */
async function takenOver(second: DevsysProcess, head: string, number: number) {
  const finished = await waitForLog(
    second,
    (l) => l.kind === 'run-tests' && l.msg === 'Job finished',
    'the end of the test job',
    90_000,
  )
  expect(finished.status).toBe('done')
  const requeued = logLines(second).find((l) => l.msg === 'Job worker died; requeued')
  expect(requeued, world.logTail()).toMatchObject({ kind: 'run-tests' })
  const [done] = (
    await world.database.asAdmin(
      `SELECT state, retry_count, data->>'lockedBy' AS locked_by
       FROM devsys_queue.job WHERE data->>'kind' = 'run-tests'`,
    )
  ).rows
  // The second attempt, run by the second worker.
  expect(done).toMatchObject({ state: 'completed', retry_count: 1 })
  expect(String(done?.locked_by)).toContain(`:${second.pid}:`)

  // One `DevSys / tests` check run on the head, completed; none hangs.
  const testRuns = [...world.repo.state.checkRuns.values()].filter(
    (c) => c.name === TESTS_CHECK && c.head_sha === head,
  )
  expect(testRuns, world.logTail()).toMatchObject([{ status: 'completed', conclusion: 'success' }])
  const hanging = [...world.repo.state.checkRuns.values()].filter((c) => c.status !== 'completed')
  expect(hanging).toEqual([])
  const output = testRuns[0]?.output as { summary?: string } | undefined
  expect(output?.summary ?? '').toContain('| 1 | 0 | 0 | 0 |')
  await waitUntil(world, () => world.repo.state.pulls.get(number)?.draft === false, 'the PR ready')
  expect(world.github.problems()).toEqual([])
  return { requeuedAt: Number(requeued?.time), ownerGone: requeued?.ownerGone }
}

describe.skipIf(!ready)('a worker killed mid-job on pg-boss', () => {
  it('on the same machine: another worker process takes the test job over at once', {
    timeout: 240_000,
  }, async () => {
    // Longer than DevSys's default (30 s): the margin the takeover is asserted with.
    const { second, head, number, killedAt, lease } = await killMidTests(60_000)
    expect(lease.leaseEnds - Date.now()).toBeGreaterThan(30_000)
    const { requeuedAt, ownerGone } = await takenOver(second, head, number)
    expect(ownerGone).toBe(true)
    expect(requeuedAt - killedAt).toBeLessThan(5_000)
    expect(requeuedAt).toBeLessThan(lease.leaseEnds)
  })

  it.skipIf(!asRoot)(
    'on another machine: another worker takes the test job over once its lease runs out',
    { timeout: 240_000 },
    async () => {
      const leaseMs = 6_000
      const { first, second, head, number, lease } = await killMidTests(leaseMs, 'other-machine')
      expect(lease.lockedBy).toMatch(new RegExp(`^other-machine:${first.pid}:`))
      const { requeuedAt, ownerGone } = await takenOver(second, head, number)
      expect(ownerGone).toBe(false)
      // Not before the lease ran out, and within a poll (1 s) or two after.
      expect(requeuedAt).toBeGreaterThanOrEqual(lease.leaseEnds)
      expect(requeuedAt - lease.leaseEnds).toBeLessThan(2_500)
    },
  )
})
