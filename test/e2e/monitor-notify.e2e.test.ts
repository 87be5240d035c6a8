/**
 * Monitoring and notifications as a user sees them, end to end: DevSys runs as its own process
 * with a webhook destination (a receiver on loopback that this test starts), a repository that
 * subscribes every event to it and monitors fast. A task goes from its issue to production;
 * then the live site breaks for real (a page of the live release disappears), DevSys's monitor
 * opens an incident issue on the GitHub stand-in naming the live commit, the site comes back and
 * the issue is closed with the downtime. Every step is a notification, signed per Standard
 * Webhooks and delivered once.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, realpathSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { NOTIFICATION_EVENTS } from '../../src/notify/events.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { type HttpReceiver, startHttpReceiver } from '../notify/receivers.js'
import { commitOnMain } from './agent-steps.js'
import { OWNER, REPO, useE2eWorld } from './e2e-world.js'
import { commentsOn, mergeAndDeploy, waitUntil } from './scenario-steps.js'

const hasPhp =
  requireTool('php', 'the deployed blog is served by php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit")

/** Every event to the server's `webhook`; the monitor as fast as the config schema allows. */
const REPO_CONFIG = [
  'monitor:',
  '  intervalSeconds: 10',
  '  retryIntervalSeconds: 5',
  '  failureThreshold: 2',
  '  successThreshold: 1',
  'notifications:',
  `  - events: [${NOTIFICATION_EVENTS.join(', ')}]`,
  '    destinations: [webhook]',
  '',
].join('\n')

const TOKEN = 'e2e-manager-token-0123456789'
const SECRET = `whsec_${randomBytes(24).toString('base64')}`

/** A notification as the receiver got it, once its signature checked out. */
interface Delivered {
  messageId: string
  type: string
  data: {
    id: string
    repo: string
    environment: string | null
    url: string | null
    details: Record<string, unknown>
  }
}

const world = useE2eWorld()
let hook: HttpReceiver | undefined
afterEach(async () => {
  await hook?.close()
  hook = undefined
})

/** Every message received, each verified with the reference library (a bad one throws). */
function delivered(receiver: HttpReceiver): Delivered[] {
  return receiver.received.map((r) => {
    const headers = r.headers as Record<string, string>
    const payload = new Webhook(SECRET).verify(r.body, headers) as Omit<Delivered, 'messageId'>
    return { messageId: headers['webhook-id'] as string, ...payload }
  })
}

async function waitForEvent(receiver: HttpReceiver, type: string, timeoutMs = 60_000) {
  await waitUntil(
    world,
    () => delivered(receiver).some((d) => d.type === type),
    `${type} delivered (got: ${delivered(receiver)
      .map((d) => d.type)
      .join(', ')})`,
    timeoutMs,
  )
  return delivered(receiver).find((d) => d.type === type) as Delivered
}

/** How many checks of production the monitor counted with `result` (/metrics). */
async function monitorChecks(port: number, result: 'pass' | 'fail'): Promise<number> {
  const answer = await httpRequest(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  })
  expect(answer.status).toBe(200)
  const line = answer.text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('devsys_monitor_checks_total{') &&
        l.includes(`repo="${OWNER}/${REPO}"`) &&
        l.includes('environment="production"') &&
        l.includes(`result="${result}"`),
    )
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

/** Waits until the monitor counted `n` checks of production with `result` (60 s at most). */
async function untilMonitorCounts(port: number, result: 'pass' | 'fail', n: number) {
  const deadline = Date.now() + 60_000
  while ((await monitorChecks(port, result)) < n) {
    if (Date.now() > deadline)
      throw new Error(`the monitor did not count ${n} ${result} checks\n${world.logTail()}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

describe.skipIf(!hasPhp)('monitoring and notifications, DevSys as a process', () => {
  it('deploy → site breaks → incident issue naming the live commit → site back → issue closed with the downtime; each step notified once, signed', {
    timeout: 240_000,
  }, async () => {
    const receiver = await startHttpReceiver()
    hook = receiver
    commitOnMain(world, { '.github/devsys.yml': REPO_CONFIG }, 'DevSys: notify, monitor fast')
    const devsys = await world.startDevsys({
      env: {
        NOTIFY_WEBHOOK_URL: receiver.url,
        NOTIFY_WEBHOOK_SECRET: SECRET,
        NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
        MANAGER_API_TOKEN: TOKEN,
      },
    })
    const { github, repo } = world

    // 1. Issue with the blog manifest → PR → its tests pass → merge → deployed and served.
    const task = await mergeAndDeploy(world)
    for (const type of ['task.accepted', 'pr.opened', 'tests.passed', 'deploy.succeeded']) {
      await waitForEvent(receiver, type)
    }
    expect((await waitForEvent(receiver, 'deploy.succeeded')).data).toMatchObject({
      repo: `${OWNER}/${REPO}`,
      environment: 'production',
    })

    // 2. The monitor sees the live site up (its first sweep comes a while after start).
    await untilMonitorCounts(devsys.port, 'pass', 1)

    // 3. The site breaks: the post page of the live release is gone, so it answers 404.
    const live = realpathSync(join(devsys.dataDir, 'deploys', OWNER, REPO, 'production', 'current'))
    const page = join(live, 'public', 'post.php')
    expect(existsSync(page)).toBe(true)
    renameSync(page, `${page}.gone`)
    expect((await httpRequest(`${task.site}/post.php?id=1`)).status).toBe(404)

    // 4. After failureThreshold failed checks: an incident issue naming the live commit.
    await github.waitFor(`POST /repos/${OWNER}/${REPO}/issues`, {
      timeoutMs: 60_000,
      describe: world.logTail,
    })
    const [number, incident] = [...repo.state.issues].at(-1) ?? []
    expect(incident, world.logTail()).toMatchObject({
      state: 'open',
      labels: ['devsys-incident', 'production'],
    })
    expect(incident?.title).toContain('post-page')
    expect(incident?.body).toContain(task.merge.slice(0, 7))
    expect(incident?.body).toContain(`#${task.number}`)
    const opened = await waitForEvent(receiver, 'incident.opened')
    expect(opened.data).toMatchObject({
      environment: 'production',
      url: `https://github.example.test/${OWNER}/${REPO}/issues/${number}`,
      details: { issue: number, commit: task.merge.slice(0, 12), pullRequest: task.number },
    })
    expect(await monitorChecks(devsys.port, 'fail')).toBeGreaterThanOrEqual(2)

    // 5. The site comes back: the issue is closed as completed, with the downtime.
    renameSync(`${page}.gone`, page)
    expect((await httpRequest(`${task.site}/post.php?id=1`)).status).toBe(200)
    await github.waitFor(
      (r) =>
        r.method === 'PATCH' &&
        r.path === `/repos/${OWNER}/${REPO}/issues/${number}` &&
        (r.body as { state?: string } | undefined)?.state === 'closed',
      { timeoutMs: 60_000, describe: world.logTail },
    )
    expect(repo.state.issues.get(number as number)).toMatchObject({
      state: 'closed',
      stateReason: 'completed',
    })
    expect(commentsOn(world, number as number).join('\n')).toMatch(/Downtime: \*\*\d+ (s|min)/)
    const resolved = await waitForEvent(receiver, 'incident.resolved')
    expect(resolved.data).toMatchObject({
      environment: 'production',
      details: { issue: number, downtime: expect.stringMatching(/^\d+ (s|min)/) },
    })

    // Each change was notified exactly once (one message id each), and nothing else was.
    const all = delivered(receiver)
    expect(all.map((d) => d.type).sort()).toEqual(
      [
        'task.accepted',
        'pr.opened',
        'tests.passed',
        'deploy.succeeded',
        'incident.opened',
        'incident.resolved',
      ].sort(),
    )
    expect(new Set(all.map((d) => d.messageId)).size).toBe(all.length)
    expect(github.problems()).toEqual([])
  })
})
