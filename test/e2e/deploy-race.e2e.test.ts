/**
 * Issue 13, item 6: two worker processes on one PostgreSQL database each run a deploy of the
 * same repository to the same environment at the same time (two `/deploy`s or API deploys are
 * separate jobs with keys of their own, so the queue lets them run at once). They meet at the
 * environment's deploy lock in the store: one deploys while the other waits for it, so the two
 * deploys' intervals do not overlap, and both finish.
 */
import { describe, expect, it } from 'vitest'
import { httpRequest } from '../helpers/http.js'
import { requirePostgres } from '../helpers/postgres.js'
import { requireTool } from '../helpers/require-tool.js'
import { OWNER, REPO, useE2eWorld } from './e2e-world.js'
import { BLOG_MANIFEST, fileTaskIssue, testsCompleted, waitUntil } from './scenario-steps.js'

const ready =
  requireTool('php', 'the deployed blog is served by php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit") &&
  (await requirePostgres('the workers share the store and the pg-boss queue'))
const TOKEN = 'deploy-race-manager-token'
/** How long the stand-in takes to create a GitHub deployment: each deploy holds the lock longer. */
const SLOW_MS = 2_000

const world = useE2eWorld({ postgres: true })

/** Makes the stand-in slow to create deployments, as a busy GitHub is. */
function slowDeploymentCreation() {
  const route = `POST /repos/${OWNER}/${REPO}/deployments`
  const original = world.repo.routes.find((r) => r.route === route)
  if (original === undefined) throw new Error('the repository fake has no deployment route')
  world.github.routes({
    route,
    reply: async (r) => {
      await new Promise((resolve) => setTimeout(resolve, SLOW_MS))
      return original.reply(r)
    },
  })
}

describe.skipIf(!ready)('two workers racing for one environment', () => {
  it('deploy one at a time, and both deploys finish', { timeout: 300_000 }, async () => {
    // One job at a time per process, so the second deploy goes to the second worker.
    const env = { WORKER_CONCURRENCY: '1', MANAGER_API_TOKEN: TOKEN }
    const first = await world.startDevsys({ env })
    const task = await fileTaskIssue(world, BLOG_MANIFEST)
    const { run } = await testsCompleted(world, task.head)
    expect(run, world.logTail()).toMatchObject({ status: 'completed', conclusion: 'success' })
    const second = await world.startDevsys({
      env: { ...env, DEVSYS_ROLE: 'worker', DEVSYS_QUEUES: 'deploy' },
    })
    slowDeploymentCreation()

    // Two deploys of the task to production, asked at the same moment.
    const ask = () =>
      httpRequest(
        `http://127.0.0.1:${first.port}/api/tasks/${task.taskId}/deploy?repo=${OWNER}/${REPO}`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ environment: 'production' }),
        },
      )
    const answers = await Promise.all([ask(), ask()])
    for (const answer of answers) expect(answer.status, answer.text).toBe(202)

    const deploysOf = async () =>
      (
        await world.database.asAdmin(
          `SELECT id, state, created_at, finished_at FROM deployments
           WHERE environment = 'production' AND trigger = 'api' ORDER BY created_at`,
        )
      ).rows as { id: number; state: string; created_at: Date; finished_at: Date | null }[]
    let deploys = await deploysOf()
    const deadline = Date.now() + 120_000
    while (deploys.length < 2 || deploys.some((d) => d.finished_at === null)) {
      if (Date.now() > deadline) throw new Error(`the deploys did not finish\n${world.logTail()}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
      deploys = await deploysOf()
    }

    // Both finished, one after the other.
    expect(deploys.map((d) => d.state)).toEqual(['success', 'success'])
    const [a, b] = deploys as [(typeof deploys)[0], (typeof deploys)[0]]
    expect(b.created_at.getTime()).toBeGreaterThanOrEqual((a.finished_at as Date).getTime())
    // Each deploy held the environment for at least the slow GitHub answer.
    for (const d of deploys) {
      expect((d.finished_at as Date).getTime() - d.created_at.getTime()).toBeGreaterThanOrEqual(
        SLOW_MS,
      )
    }

    // The two jobs ran at once, one in each worker process: they raced for the lock.
    const deployJobs = async () =>
      (
        await world.database.asAdmin(
          `SELECT data->>'lockedBy' AS locked_by, started_on, completed_on FROM devsys_queue.job
           WHERE data->>'kind' = 'deploy' ORDER BY started_on`,
        )
      ).rows as { locked_by: string; started_on: Date; completed_on: Date | null }[]
    // A job is completed just after its deploy record is closed.
    let jobs = await deployJobs()
    for (let tries = 0; jobs.some((j) => j.completed_on === null) && tries < 40; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      jobs = await deployJobs()
    }
    expect(jobs).toHaveLength(2)
    const pids = jobs.map((j) => Number(j.locked_by.split(':')[1]))
    expect(new Set(pids), world.logTail()).toEqual(new Set([first.pid, second.pid]))
    const [j1, j2] = jobs as [(typeof jobs)[0], (typeof jobs)[0]]
    expect(j2.started_on.getTime()).toBeLessThan((j1.completed_on as Date).getTime())

    // GitHub was told of two deployments, both successful.
    await waitUntil(
      world,
      () =>
        [...world.repo.state.deployments.values()].filter((d) =>
          d.statuses.some((s) => s.state === 'success'),
        ).length === 2,
      'both GitHub deployments marked success',
    )
    expect(world.github.problems()).toEqual([])
  })
})
