import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { IncidentEvent } from '../../src/monitor/incident-event.js'
import {
  nockBotIdentity,
  nockCreateDeployment,
  nockCreateIssueComment,
  nockDeploymentStatus,
  nockGetContent,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { type IntakeHarness, startIntake } from '../intake/harness.js'
import {
  BRANCH,
  CONFIG,
  nockDeploy,
  nockNewPrComments,
  OWNER,
  PR,
  pushPayload,
  REPO,
  SiteRepo,
  saveTask,
  taskRecord,
} from './deploy-fixture.js'
import {
  flakyPage,
  monitorConfig,
  nockCreateIssue,
  nockGetRepo,
  nockListIssues,
  nockUpdateIssue,
  setDown,
} from './monitor-fixture.js'

useGitHubMock()
const LOCK = `${OWNER}/${REPO}:production`
const SECOND = 1000
let site: SiteRepo
let devsys: IntakeHarness
let dataDir: string
let clock: number
let events: IncidentEvent[]
/** Each check that counted, as /metrics counts it: repo:environment:pass|fail. */
let checks: string[]
let config: string

async function start(): Promise<IntakeHarness> {
  return startIntake({
    dataDir,
    jobs: ['deploy', 'revert', 'rollback', 'monitor'],
    deployTuning: { acceptance: { retries: 1, retryDelayMs: 20 }, lockWaitMs: 500 },
    monitor: {
      monitorNow: () => clock,
      onIncident: (e) => void events.push(e),
      onMonitorChecked: (repo, env, ok) =>
        void checks.push(`${repo}:${env}:${ok ? 'pass' : 'fail'}`),
    },
  })
}

beforeEach(async () => {
  site = new SiteRepo()
  dataDir = mkdtempSync(join(tmpdir(), 'devsys-monitor-'))
  clock = Date.parse('2026-06-01T12:00:00Z')
  events = []
  checks = []
  config = monitorConfig()
  devsys = await start()
})
afterEach(async () => {
  await devsys.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** Merges a version of the site and deploys it; returns the merge commit and the site's URL. */
async function deploy(text: string, deploymentId: number, first = true) {
  if (first) await saveTask(devsys, site)
  site.commit(BRANCH, { ...flakyPage(text), ...taskRecord() }, `site ${text}`)
  const sha = site.merge(BRANCH)
  const mocks = nockDeploy({ deploymentId, statuses: 2, config, pulls: { sha, numbers: [PR] } })
  if (first) nockCreateIssueComment(OWNER, REPO, PR)
  else {
    nockDeploymentStatus(OWNER, REPO, deploymentId - 1)
    nockUpdateIssueComment(OWNER, REPO, 1001)
  }
  await devsys.deliver('push', pushPayload(site, sha))
  const url = (await mocks.statuses[1])?.environment_url as string
  expect(await live(url)).toBe(`Hello from DevSys: ${text}`)
  return { sha, url }
}

async function live(url: string): Promise<string> {
  return (await httpRequest(url)).text
}

/**
 * Moves the monitor's clock on and runs one sweep (as the schedule would), with the repo config
 * mocked for the check it queues (unless it stops before); returns what the check did.
 */
async function tick(
  ms: number,
  opts = { readsConfig: true },
): Promise<Record<string, unknown> | undefined> {
  clock += ms
  if (opts.readsConfig) nockGetContent(OWNER, REPO, CONFIG, null, config)
  await devsys.queue.enqueue({ kind: 'monitor', key: 'monitor', payload: { sweep: true } })
  await devsys.queue.drain()
  const checks = (await devsys.queue.listJobs({ kind: 'monitor' })).filter(
    (j) => (j.payload as { check?: unknown }).check !== undefined,
  )
  process.stderr.write(
    `tick ${ms}: ${JSON.stringify(checks.at(-1)?.outcome ?? checks.at(-1)?.lastError)}\n`,
  )
  return checks.at(-1)?.outcome as Record<string, unknown> | undefined
}

async function state() {
  return devsys.store.getMonitorState(`${OWNER}/${REPO}`, 'production')
}

/** Three failing checks (the failure threshold), the third opening the incident as `issue`. */
async function failUntilOpened(issue: number) {
  setDown(devsys, true)
  expect(await tick(60 * SECOND)).toMatchObject({ details: { status: 'failing' } })
  expect(await tick(15 * SECOND)).toMatchObject({ details: { status: 'failing' } })
  nockListIssues('maintenance')
  nockListIssues('devsys-incident,production')
  const opened = nockCreateIssue(issue)
  expect(await tick(15 * SECOND)).toMatchObject({
    details: { status: 'down', alert: 'open', issue },
  })
  return opened
}

describe.skipIf(!requireTool('php', 'serves the monitored site with php -S'))(
  'monitor job (a local site served by php -S)',
  () => {
    it('a site that goes down and comes back: one incident issue, opened with the failing check and the live deploy, closed with the downtime', async () => {
      const first = await deploy('v1', 501)
      expect(await tick(0)).toMatchObject({ details: { status: 'up', alert: null } })

      const opened = await failUntilOpened(77)
      const issue = await opened
      expect(issue.title).toBe('production is down: home failing')
      expect(issue.labels).toEqual(['devsys-incident', 'production'])
      expect(issue.body).toContain('<!-- devsys:incident production -->')
      expect(issue.body).toContain('3 checks in a row of `production`')
      expect(issue.body).toContain('| home | `GET /` | 500 (expected 200) |')
      expect(issue.body).toContain('Fatal error: database unreachable')
      expect(issue.body).toContain(`\`${first.sha.slice(0, 7)}\` from #${PR} (task \`hello-site\`)`)
      expect(events).toMatchObject([
        { kind: 'incident.opened', issueNumber: 77, deployment: { commitSha: first.sha } },
      ])

      // Still down, same failure: no comment (reminders are off in this config).
      expect(await tick(60 * SECOND)).toMatchObject({ details: { status: 'down', alert: null } })

      setDown(devsys, false)
      expect(await tick(60 * SECOND)).toMatchObject({ details: { status: 'recovering' } })
      const resolved = nockCreateIssueComment(OWNER, REPO, 77)
      const closed = nockUpdateIssue(77)
      expect(await tick(15 * SECOND)).toMatchObject({ details: { status: 'up', alert: 'resolve' } })
      // Down from the first failing check (12:01:00) to the second passing one (12:03:45).
      expect((await resolved.body).body).toContain('Downtime: **2 min 45 s**')
      expect(await closed).toEqual({ state: 'closed', state_reason: 'completed' })
      expect(events.map((e) => e.kind)).toEqual(['incident.opened', 'incident.resolved'])
      expect(events[1]).toMatchObject({ issueNumber: 77, downtimeMs: 165_000 })
      // Both changes are in the audit log, made by the monitor.
      const audit = await devsys.store.listAudit(`incident:${OWNER}/${REPO}:production`)
      expect(audit.map((a) => [a.action, a.actor, a.via, a.details.issue])).toEqual([
        ['incident.opened', 'devsys-monitor', 'monitor', 77],
        ['incident.resolved', 'devsys-monitor', 'monitor', 77],
      ])
      expect(await state()).toMatchObject({ status: 'up', incidentIssue: null, pending: null })
      expect(await live(first.url)).toBe('Hello from DevSys: v1')
    })

    it('reminds on the open incident every reminderMinutes, and only then', async () => {
      config = monitorConfig('reminderMinutes: 5')
      await deploy('v1', 501)
      await tick(0)
      await await failUntilOpened(77)
      for (let i = 0; i < 4; i++) {
        expect(await tick(60 * SECOND)).toMatchObject({ details: { alert: null } })
      }
      // A reminder is an alert: maintenance would mute it.
      nockListIssues('maintenance')
      const reminder = nockCreateIssueComment(OWNER, REPO, 77)
      expect(await tick(60 * SECOND)).toMatchObject({ details: { alert: 'remind' } })
      expect((await reminder.body).body).toContain('`production` is still down (5 min 30 s)')
      expect(await tick(60 * SECOND)).toMatchObject({ details: { alert: null } })
    })

    it('flapping (fail, pass, fail, pass, fail) opens no incident', async () => {
      await deploy('v1', 501)
      await tick(0)
      for (const down of [true, false, true, false, true]) {
        setDown(devsys, down)
        const outcome = await tick(down ? 60 * SECOND : 15 * SECOND)
        expect(outcome).toMatchObject({ details: { alert: null } })
      }
      expect(await state()).toMatchObject({ status: 'failing', consecutiveFailures: 1 })
      expect(events).toEqual([])
      const env = `${OWNER}/${REPO}:production`
      expect(checks).toEqual(
        ['pass', 'fail', 'pass', 'fail', 'pass', 'fail'].map((result) => `${env}:${result}`),
      )
    })

    it('a restart during an incident sends nothing twice, and finishes an alert a crash left unsent', async () => {
      await deploy('v1', 501)
      await tick(0)
      await await failUntilOpened(77)

      // A new DevSys process (store, queue and targets) on the same DATA_DIR.
      await devsys.close()
      devsys = await start()
      expect(await tick(60 * SECOND)).toMatchObject({ details: { status: 'down', alert: null } })

      // A crash right after the issue was created, before the state recorded it: the next
      // process finds the issue by its labels and marker instead of opening another.
      const saved = await state()
      if (saved === undefined) throw new Error('no monitor state')
      await devsys.store.saveMonitorState({
        ...saved,
        incidentIssue: null,
        pending: { kind: 'open', at: new Date(clock).toISOString() },
      })
      await devsys.close()
      devsys = await start()
      nockListIssues('devsys-incident,production', [
        { number: 77, body: '<!-- devsys:incident production -->\n### down' },
      ])
      expect(await tick(60 * SECOND)).toMatchObject({ details: { status: 'down', issue: 77 } })
      // The crashed process never emitted its event (it comes after the save): this one does.
      expect(events.filter((e) => e.kind === 'incident.opened')).toHaveLength(2)
      expect(events.every((e) => e.issueNumber === 77)).toBe(true)
      // Its event links the issue it found, as the first one linked the issue it created.
      const issueUrls = events.flatMap((e) => (e.kind === 'incident.opened' ? [e.issueUrl] : []))
      expect(issueUrls).toEqual([
        `https://github.com/${OWNER}/${REPO}/issues/77`,
        `https://github.com/${OWNER}/${REPO}/issues/77`,
      ])
    })

    it('two workers on one store and queue check an environment once per interval', async () => {
      await deploy('v1', 501)
      const other = await start()
      try {
        // Both run the sweep of one schedule slot (as repeat-schedules enqueues it): one wins.
        const slot = { id: 'schedule:monitor:1', event: 'schedule' }
        const sweep = { kind: 'monitor', key: 'monitor', payload: { sweep: true } }
        nockGetContent(OWNER, REPO, CONFIG, null, config)
        await Promise.all([
          devsys.queue.enqueue(sweep, { delivery: slot }),
          other.queue.enqueue(sweep, { delivery: slot }),
        ])
        await Promise.all([devsys.queue.drain(), other.queue.drain()])
        // A later sweep and a stray check inside the same interval check nothing.
        clock += 30 * SECOND
        await other.queue.enqueue(sweep)
        await other.queue.enqueue({
          kind: 'monitor',
          key: 'monitor:octo-org/hello-world:production',
          payload: { check: { repo: `${OWNER}/${REPO}`, environment: 'production' } },
        })
        await Promise.all([devsys.queue.drain(), other.queue.drain()])
        const outcomes = (await devsys.queue.listJobs({ kind: 'monitor' }))
          .filter((j) => (j.payload as { check?: unknown }).check !== undefined)
          .map((j) => j.outcome)
        expect(outcomes).toMatchObject([
          { status: 'done', details: { status: 'up' } },
          { status: 'skipped', reason: 'not-due' },
        ])
        expect(await state()).toMatchObject({ revision: 1, consecutiveSuccesses: 1 })
      } finally {
        await other.close()
      }
    })

    it('muted while a deploy of the environment holds its lock, and while a maintenance issue is open', async () => {
      await deploy('v1', 501)
      await tick(0)
      setDown(devsys, true)
      await devsys.store.acquireDeployLock(LOCK, 'job:9', 'deploy of abc1234 (merge)', 600_000)
      // Muted before it asks GitHub anything.
      expect(await tick(60 * SECOND, { readsConfig: false })).toMatchObject({
        status: 'skipped',
        reason: 'deploying',
      })
      expect(await state()).toMatchObject({ status: 'up', consecutiveFailures: 0 })
      await devsys.store.releaseDeployLock(LOCK, 'job:9')

      // (A new tick: the skipped one's slot has been swept.)
      await tick(5 * SECOND)
      await tick(15 * SECOND)
      // The third failure would open an incident: an open `maintenance` issue mutes it.
      nockListIssues('maintenance', [{ number: 12, labels: ['maintenance'] }])
      expect(await tick(15 * SECOND)).toMatchObject({
        details: { status: 'failing', alert: null },
      })
      expect(await state()).toMatchObject({ consecutiveFailures: 3, incidentIssue: null })
      // Maintenance over: the next failure opens it.
      nockListIssues('maintenance')
      nockListIssues('devsys-incident,production')
      const opened = nockCreateIssue(78)
      expect(await tick(15 * SECOND)).toMatchObject({ details: { alert: 'open', issue: 78 } })
      expect((await opened).body).toContain('4 checks in a row')
    })

    it('auto-rollback: a failure soon after a deploy switches back to the release before it and reverts the merge, as done by the monitor', async () => {
      config = monitorConfig('reminderMinutes: 0', '    monitor: { autoRollback: true }\n')
      const first = await deploy('v1', 501)
      // v1 ignores the flag file; v2 is the version that breaks.
      site.commit(BRANCH, { 'public/index.php': `<?php echo 'Hello from DevSys: v1';\n` }, 'v1b')
      const v1 = site.merge(BRANCH)
      nockDeploy({ deploymentId: 502, statuses: 2, config, pulls: { sha: v1, numbers: [PR] } })
      nockDeploymentStatus(OWNER, REPO, 501)
      nockUpdateIssueComment(OWNER, REPO, 1001)
      await devsys.deliver('push', pushPayload(site, v1))
      const second = await deploy('v2', 503, false)
      expect(await tick(0)).toMatchObject({ details: { status: 'up' } })

      // The rollback job: the repository, the repo config, the restored deployment on GitHub,
      // its answer on the PR and the revert's report.
      nockGetRepo(site.bare)
      nockGetContent(OWNER, REPO, CONFIG, null, config)
      const restored = nockCreateDeployment(OWNER, REPO, 504).body
      nockDeploymentStatus(OWNER, REPO, 504)
      const inactive = nockDeploymentStatus(OWNER, REPO, 503).body
      const comments = nockNewPrComments(1002, 1003)
      nockBotIdentity()
      const issue = await await failUntilOpened(79)

      expect(issue.body).toContain('DevSys is rolling it back (`monitor.autoRollback`)')
      expect(await live(first.url)).toBe('Hello from DevSys: v1')
      expect(await restored).toMatchObject({ ref: v1, environment: 'production' })
      expect(await inactive).toMatchObject({ state: 'inactive' })
      const { rollback: answer = '' } = await comments()
      expect(answer).toContain('Rolled back `production`')
      const [rollback, rolledBack] = await devsys.store.listDeployments({
        environment: 'production',
      })
      expect(rollback).toMatchObject({
        trigger: 'rollback',
        actor: 'devsys-monitor',
        commitSha: v1,
        rollbackOf: rolledBack?.id,
      })
      expect(rolledBack).toMatchObject({ commitSha: second.sha, state: 'rolled_back', bad: true })
      expect(site.log('main')).toContain(`This reverts commit ${second.sha}.`)
      expect(events).toMatchObject([{ kind: 'incident.opened', autoRollback: true }])
      const audit = await devsys.store.listAudit(`deployment:${rolledBack?.id}`)
      expect(audit).toContainEqual(
        expect.objectContaining({ actor: 'devsys-monitor', action: 'deploy.rolled-back' }),
      )

      // The rolled-back site passes: the incident closes after two passing checks, and no
      // second rollback is queued.
      expect(await tick(60 * SECOND)).toMatchObject({ details: { status: 'recovering' } })
      nockCreateIssueComment(OWNER, REPO, 79)
      const closed = nockUpdateIssue(79)
      expect(await tick(15 * SECOND)).toMatchObject({ details: { alert: 'resolve' } })
      expect(await closed).toMatchObject({ state: 'closed' })
      expect(await devsys.queue.listJobs({ kind: 'rollback' })).toHaveLength(1)
    })
  },
)
