/**
 * Issue 10, item 5, as an operator sees it: DevSys is killed with SIGKILL while a task's tests
 * run (the OOM killer, a host reboot of the container, `kill -9`), and started again on the same
 * DATA_DIR. The new process recognises the test job leased by its dead predecessor and runs it
 * again at once: `DevSys / tests` completes long before that lease would have expired, and no
 * check run is left hanging in progress.
 */
import { describe, expect, it } from 'vitest'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { requireTool } from '../helpers/require-tool.js'
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

const hasSandbox = requireTool('bwrap', 'task tests run in the bubblewrap sandbox')
/** Longer than DevSys's default (30 s): the margin the ordering below is asserted with. */
const LEASE_MS = 60_000

const world = useE2eWorld()
const gate = useGate()

describe.skipIf(!hasSandbox)(
  'DevSys killed with SIGKILL mid-test and restarted, end to end',
  () => {
    it('the restarted process retries its dead predecessor’s test job at once: `DevSys / tests` completes before the lease would expire, and no check run hangs', {
      timeout: 180_000,
    }, async () => {
      const env = {
        TEST_RUNNER: 'local',
        SANDBOX_READONLY_PATHS: gate.dir,
        JOB_LEASE_MS: String(LEASE_MS),
      }
      const first = await world.startDevsys({ env })
      const manifest = JSON.parse(BLOG_MANIFEST) as Record<string, unknown>
      manifest.id = 'gated-tests'
      manifest.tests = {
        command: gate.command(),
        junit: 'build/junit.xml',
        timeoutSeconds: 120,
      }
      const { head, number } = await fileTaskIssue(world, JSON.stringify(manifest, null, 2))

      // 1. The tests run (in progress on GitHub, the command waiting in the sandbox); then the
      //    process is killed with no chance to clean up.
      await waitForLog(first, (l) => l.msg === 'running tests', 'the start of the test command')
      await waitUntil(world, () => gate.processes().length > 0, 'the sandboxed test command')
      expect(world.repo.checkRun(TESTS_CHECK, head)).toMatchObject({ status: 'in_progress' })
      expect(await first.kill()).toBe('SIGKILL')
      // Nothing of the first attempt outlives DevSys (bubblewrap dies with its parent).
      await waitUntil(world, () => gate.processes().length === 0, 'the end of the sandbox', 10_000)

      // 2. The job is still leased to the dead process in the queue's state: this is the lease a
      //    restart used to wait out.
      const jobs = openSqliteJobStore({ dataDir: first.dataDir })
      const [job] = await jobs.listJobs({ kind: 'run-tests' })
      await jobs.close()
      expect(job).toMatchObject({ state: 'running', attempts: 1 })
      expect(job?.lockedBy).toContain(`:${first.pid}:`)
      const leaseEnds = Date.parse(String(job?.lockedUntil))
      expect(leaseEnds - Date.now()).toBeGreaterThan(LEASE_MS / 2)

      // 3. Restarted on the same DATA_DIR, with the gate open for the retry.
      gate.open()
      const second = await world.startDevsys({ env, dataDir: first.dataDir })
      const completed = await world.github.waitFor(
        (r) =>
          r.method === 'PATCH' &&
          world.repo.state.checkRuns.get(Number(r.params.check_run_id))?.name === TESTS_CHECK &&
          (r.body as { status?: string } | undefined)?.status === 'completed',
        {
          timeoutMs: Math.max(0, leaseEnds - Date.now()),
          describe: () => `The retry waited for the lease to expire.\n${world.logTail()}`,
        },
      )
      expect(completed.at).toBeLessThan(leaseEnds)

      // The new process knew the lease's owner was gone, and the retry was the job's second try.
      const requeued = logLines(second).find((l) => l.msg === 'Job worker died; requeued')
      expect(requeued, world.logTail()).toMatchObject({ kind: 'run-tests', ownerGone: true })
      const finished = await waitForLog(
        second,
        (l) => l.kind === 'run-tests' && l.msg === 'Job finished',
        'the end of the retried test job',
      )
      expect(finished.status).toBe('done')

      // 4. One `DevSys / tests` check run on the head, resumed and completed; none hangs.
      const testRuns = [...world.repo.state.checkRuns.values()].filter(
        (c) => c.name === TESTS_CHECK && c.head_sha === head,
      )
      expect(testRuns, world.logTail()).toMatchObject([
        { status: 'completed', conclusion: 'success' },
      ])
      const hanging = [...world.repo.state.checkRuns.values()].filter(
        (c) => c.status !== 'completed',
      )
      expect(hanging).toEqual([])
      // Its report is the retry's: the one case, run once the gate was open.
      const output = testRuns[0]?.output as { summary?: string } | undefined
      expect(output?.summary ?? '').toContain('| 1 | 0 | 0 | 0 |')
      // The PR left draft: the rest of the job ran too.
      expect(world.repo.state.pulls.get(number)?.draft).toBe(false)

      expect(world.github.problems()).toEqual([])
    })
  },
)
