/**
 * The deploy job publishes how it ended: a merge deployed to the local target (served by php -S)
 * reaches a subscribed webhook receiver on loopback once, as deploy.succeeded with the
 * deployment's URL, through the notify job (signature verified with standardwebhooks).
 */
import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { nockCreateIssueComment, nockGetContent, useGitHubMock } from '../helpers/github.js'
import { requireTool } from '../helpers/require-tool.js'
import { type IntakeHarness, startIntake } from '../intake/harness.js'
import { startHttpReceiver } from '../notify/receivers.js'
import {
  BRANCH,
  CONFIG,
  nockDeploy,
  OWNER,
  PR,
  page,
  pushPayload,
  REPO,
  SiteRepo,
  saveTask,
  taskRecord,
} from './deploy-fixture.js'

const SECRET = `whsec_${Buffer.from('devsys-notify-test-secret-32-byt').toString('base64')}`
const SUBSCRIBED = `notifications:
  - events: [deploy.succeeded, deploy.failed]
    environments: [production]
    destinations: [webhook]
`
const hook = await startHttpReceiver()
afterAll(() => hook.close())

useGitHubMock()
let site: SiteRepo
let devsys: IntakeHarness
beforeEach(async () => {
  site = new SiteRepo()
  devsys = await startIntake({
    jobs: ['deploy', 'notify'],
    env: {
      NOTIFY_WEBHOOK_URL: hook.url,
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
    },
  })
})
afterEach(async () => {
  await devsys.close()
})

describe.skipIf(!requireTool('php', 'serves the local deploy target for real HTTP checks'))(
  'deploy notifications',
  () => {
    it('a merge deployed to production is told once as deploy.succeeded', async () => {
      await saveTask(devsys, site)
      site.commit(BRANCH, { ...page('v1'), ...taskRecord() }, 'site v1')
      const sha = site.merge(BRANCH)
      const mocks = nockDeploy({
        deploymentId: 601,
        statuses: 2,
        config: SUBSCRIBED,
        pulls: { sha, numbers: [PR] },
      })
      nockCreateIssueComment(OWNER, REPO, PR)
      // The notify job reads the subscriptions from the default branch.
      nockGetContent(OWNER, REPO, CONFIG, null, SUBSCRIBED)

      await devsys.deliver('push', pushPayload(site, sha))

      const url = (await mocks.statuses[1])?.environment_url as string
      const [record] = await devsys.store.listDeployments({ environment: 'production' })
      expect(hook.received).toHaveLength(1)
      const message = hook.received[0]
      expect(
        new Webhook(SECRET).verify(message?.body ?? '', message?.headers as Record<string, string>),
      ).toMatchObject({
        type: 'deploy.succeeded',
        data: {
          id: `deploy.succeeded:${OWNER}/${REPO}:deployment-${record?.id}`,
          repo: `${OWNER}/${REPO}`,
          environment: 'production',
          task: 'hello-site',
          url,
          details: { commit: sha, trigger: 'merge' },
        },
      })
      expect(await devsys.store.listNotifications()).toMatchObject([
        { eventType: 'deploy.succeeded', destination: 'webhook', status: 'delivered' },
      ])
    })
  },
)
