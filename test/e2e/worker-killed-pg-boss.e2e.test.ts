/**
 * Issue 13, item 6: a worker is killed with SIGKILL while it runs a task's tests on the pg-boss
 * queue (PostgreSQL), and another worker process on the same database, already running, takes
 * the job over and finishes it: `DevSys / tests` completes on GitHub and no check run is left in
 * progress. The dead worker's lease names its process; the other worker, on the same machine,
 * sees that process gone and requeues the job at its next poll (about a second), long before
 * JOB_LEASE_MS (the time a worker on another machine waits) would have run out.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { requirePostgres } from '../helpers/postgres.js'
import { requireTool } from '../helpers/require-tool.js'
import { useE2eWorld } from './e2e-world.js'
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
/** Longer than DevSys's default (30 s): the margin the takeover is asserted with. */
const LEASE_MS = 60_000

/**
 * The test command (`sh -c SCRIPT gated GATE`): waits until the file `open` appears in GATE,
 * then writes a JUnit report with one passing case, so the first attempt is certainly still
 * running when its worker is killed.
 */
const GATED_SCRIPT = `until [ -e "$1/open" ]; do sleep 0.1; done
mkdir -p build
printf '%s\\n' '<testsuites><testsuite name="gated" tests="1"><testcase classname="gated" name="ran once the gate opened"/></testsuite></testsuites>' > build/junit.xml
`

const world = useE2eWorld({ postgres: true })
let gate: string

beforeEach(() => {
  gate = mkdtempSync(join(tmpdir(), 'devsys-e2e-gate-'))
  chmodSync(gate, 0o755) // readable by the sandbox user when DevSys runs as root
})
afterEach(() => {
  rmSync(gate, { recursive: true, force: true })
})

/** Host processes whose command line names `path`: the sandboxed test command and its bwrap. */
function processesNaming(path: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path)
      } catch {
        return false
      }
    })
    .map(Number)
}

describe.skipIf(!ready)('a worker killed mid-job on pg-boss', () => {
  it('another worker process takes the test job over and `DevSys / tests` completes', {
    timeout: 240_000,
  }, async () => {
    const env = {
      TEST_RUNNER: 'local',
      SANDBOX_READONLY_PATHS: gate,
      JOB_LEASE_MS: String(LEASE_MS),
    }
    const first = await world.startDevsys({ env })
    const manifest = JSON.parse(BLOG_MANIFEST) as Record<string, unknown>
    manifest.id = 'gated-tests'
    manifest.tests = {
      command: ['sh', '-c', GATED_SCRIPT, 'gated', gate],
      junit: 'build/junit.xml',
      timeoutSeconds: 120,
    }
    const { head, number } = await fileTaskIssue(world, JSON.stringify(manifest, null, 2))

    // 1. The tests run in the first process; a second worker joins the pool meanwhile.
    await waitForLog(first, (l) => l.msg === 'running tests', 'the start of the test command')
    await waitUntil(world, () => processesNaming(gate).length > 0, 'the sandboxed test command')
    const second = await world.startDevsys({ env: { ...env, DEVSYS_ROLE: 'worker' } })
    expect(world.repo.checkRun(TESTS_CHECK, head)).toMatchObject({ status: 'in_progress' })
    const [running] = (
      await world.database.asAdmin(
        `SELECT data->>'lockedBy' AS locked_by, started_on + expire_in AS lease_ends
         FROM devsys_queue.job WHERE data->>'kind' = 'run-tests' AND state = 'active'`,
      )
    ).rows
    expect(String(running?.locked_by)).toContain(`:${first.pid}:`)
    const leaseEnds = new Date(running?.lease_ends as string).getTime()
    expect(leaseEnds - Date.now()).toBeGreaterThan(LEASE_MS / 2)

    // 2. The first process is killed; nothing of its attempt outlives it.
    expect(await first.kill()).toBe('SIGKILL')
    const killedAt = Date.now()
    await waitUntil(
      world,
      () => processesNaming(gate).length === 0,
      'the end of the sandbox',
      10_000,
    )
    writeFileSync(join(gate, 'open'), '')

    // 3. The second worker requeues the job, runs it and completes the check run, before the
    //    dead worker's lease would have expired.
    const completed = await world.github.waitFor(
      (r) =>
        r.method === 'PATCH' &&
        world.repo.state.checkRuns.get(Number(r.params.check_run_id))?.name === TESTS_CHECK &&
        (r.body as { status?: string } | undefined)?.status === 'completed',
      {
        timeoutMs: Math.max(0, leaseEnds - Date.now()),
        describe: () => `The takeover waited for the lease to expire.\n${world.logTail()}`,
      },
    )
    expect(completed.at).toBeLessThan(leaseEnds)
    const requeued = logLines(second).find((l) => l.msg === 'Job worker died; requeued')
    expect(requeued, world.logTail()).toMatchObject({ kind: 'run-tests', ownerGone: true })
    expect(Number(requeued?.time) - killedAt).toBeLessThan(5_000)
    const finished = await waitForLog(
      second,
      (l) => l.kind === 'run-tests' && l.msg === 'Job finished',
      'the end of the test job',
    )
    expect(finished.status).toBe('done')
    const [done] = (
      await world.database.asAdmin(
        `SELECT state, retry_count, data->>'lockedBy' AS locked_by
         FROM devsys_queue.job WHERE data->>'kind' = 'run-tests'`,
      )
    ).rows
    // The second attempt, run by the second worker.
    expect(done).toMatchObject({ state: 'completed', retry_count: 1 })
    expect(String(done?.locked_by)).toContain(`:${second.pid}:`)

    // 4. One `DevSys / tests` check run on the head, completed; none hangs.
    const testRuns = [...world.repo.state.checkRuns.values()].filter(
      (c) => c.name === TESTS_CHECK && c.head_sha === head,
    )
    expect(testRuns, world.logTail()).toMatchObject([
      { status: 'completed', conclusion: 'success' },
    ])
    const hanging = [...world.repo.state.checkRuns.values()].filter((c) => c.status !== 'completed')
    expect(hanging).toEqual([])
    const output = testRuns[0]?.output as { summary?: string } | undefined
    expect(output?.summary ?? '').toContain('| 1 | 0 | 0 | 0 |')
    await waitUntil(
      world,
      () => world.repo.state.pulls.get(number)?.draft === false,
      'the PR ready',
    )
    expect(world.github.problems()).toEqual([])
  })
})
