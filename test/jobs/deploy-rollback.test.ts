import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import {
  nockBotIdentity,
  nockCreateCommentReaction,
  nockCreateIssueComment,
  nockCreatePull,
  nockDeploymentStatus,
  nockGetContent,
  nockListPulls,
  useGitHubMock,
} from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { type IntakeHarness, startIntake } from '../intake/harness.js'
import {
  BRANCH,
  CONFIG,
  commentPayload,
  nockDeploy,
  nockNewPrComments,
  nockPrCommand,
  OWNER,
  PR,
  page,
  pushPayload,
  REPO,
  SiteRepo,
  saveTask,
  taskRecord,
} from './deploy-fixture.js'

const github = useGitHubMock()
const LOCK = `${OWNER}/${REPO}:production`
let site: SiteRepo
let devsys: IntakeHarness

beforeEach(async () => {
  site = new SiteRepo()
  devsys = await startIntake({
    jobs: ['deploy', 'revert', 'rollback', 'pr-command'],
    deployTuning: { acceptance: { retries: 1, retryDelayMs: 50 }, lockWaitMs: 1500 },
  })
})
afterEach(async () => {
  await devsys.close()
})

async function live(url: string): Promise<string> {
  return (await httpRequest(url)).text
}

/** Merges the task's page (with the task record DevSys commits) and deploys it; returns its URL. */
async function deployFirst(text = 'v1') {
  await saveTask(devsys, site)
  site.commit(BRANCH, { ...page(text), ...taskRecord() }, `site ${text}`)
  const sha = site.merge(BRANCH)
  const mocks = nockDeploy({ deploymentId: 501, statuses: 2, pulls: { sha, numbers: [PR] } })
  nockCreateIssueComment(OWNER, REPO, PR)
  await devsys.deliver('push', pushPayload(site, sha))
  const url = (await mocks.statuses[1])?.environment_url as string
  expect(await live(url)).toBe(`Hello from DevSys: ${text}`)
  return { sha, url }
}

/** A person reverts a merge on main by hand (`git revert -m 1`) and pushes it. */
function revertByHand(merge: string): string {
  git(site.work, 'checkout', '-q', 'main')
  git(site.work, 'pull', '-q', '--ff-only', 'origin', 'main')
  git(site.work, 'revert', '--no-edit', '-m', '1', merge)
  git(site.work, 'push', '-q', 'origin', 'main')
  return git(site.work, 'rev-parse', 'HEAD')
}

describe.skipIf(!requireTool('php', 'serves the local deploy target for real HTTP checks'))(
  'rollbacks, reverts and the deploy lock (local target served by php -S)',
  () => {
    it('a person’s revert of a task’s merge deploys without that task’s checks, and DevSys leaves the revert on main', async () => {
      const first = await deployFirst()
      const revert = revertByHand(first.sha)
      // No acceptance check run: the reverted tree holds no task record, so no task's checks.
      const mocks = nockDeploy({
        deploymentId: 502,
        statuses: 2,
        checkRun: null,
        pulls: { sha: revert, numbers: [] },
      })
      const inactive = nockDeploymentStatus(OWNER, REPO, 501).body

      await devsys.deliver('push', pushPayload(site, revert))

      expect(await mocks.statuses[1]).toMatchObject({ state: 'success' })
      expect(await inactive).toMatchObject({ state: 'inactive' })
      expect(await live(first.url)).not.toContain('Hello from DevSys')
      expect(site.sha('main')).toBe(revert)
      expect(await devsys.queue.listJobs({ kind: 'revert' })).toEqual([])
      const [record] = await devsys.store.listDeployments({ environment: 'production', limit: 1 })
      expect(record).toMatchObject({
        commitSha: revert,
        taskId: null,
        state: 'success',
        bad: false,
        verification: { skipped: expect.stringContaining('no task record') },
      })
    })

    it('/rollback of the first deploy reverts the merge, and the revert deploys the site as it was before the task', async () => {
      const first = await deployFirst()
      const before = site.sha(`${first.sha}^1^{tree}`)
      nockPrCommand(github, { head: site.sha(BRANCH), merged: true })
      nockCreateCommentReaction(OWNER, REPO, 3001)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      // The rollback answers in a comment of its own (the deploy's comment 1001 stays), and the
      // revert reports in another.
      const comments = nockNewPrComments(1002, 1003)
      const rocket = nockCreateCommentReaction(OWNER, REPO, 3001).body
      nockBotIdentity()

      await devsys.deliver('issue_comment', commentPayload(site, '/rollback'))

      const { rollback: text = '', revert: reverted = '' } = await comments()
      expect(text).toContain('first deploy')
      expect(text).toContain(`reverting ${first.sha.slice(0, 7)} on \`main\``)
      expect(text).not.toContain('Revert the merge')
      expect(await rocket).toEqual({ content: 'rocket' })
      expect(reverted).toContain(`Reverted ${first.sha.slice(0, 7)} on \`main\``)
      expect(await devsys.store.getCommentId(`${OWNER}/${REPO}`, PR, 'deploy')).toBe(1001)
      const [rollback] = await devsys.queue.listJobs({ kind: 'rollback' })
      expect(rollback?.outcome).toMatchObject({ status: 'done' })
      const [bad] = await devsys.store.listDeployments({ environment: 'production' })
      expect(bad).toMatchObject({ commitSha: first.sha, bad: true })
      const head = site.sha('main')
      expect(site.log('main')).toContain(`This reverts commit ${first.sha}.`)
      expect(site.sha(`${head}^{tree}`)).toBe(before)

      // GitHub sends the revert's push: it deploys the site as it was before the task, unchecked
      // by the task it removed, and DevSys does not revert it back.
      const revert = nockDeploy({
        deploymentId: 503,
        statuses: 2,
        checkRun: null,
        pulls: { sha: head, numbers: [] },
      })
      nockDeploymentStatus(OWNER, REPO, 501)
      await devsys.deliver('push', pushPayload(site, head))
      expect(await revert.statuses[1]).toMatchObject({ state: 'success' })
      expect(await live(first.url)).not.toContain('Hello from DevSys')
      expect(site.sha('main')).toBe(head)
      expect(await devsys.queue.listJobs({ kind: 'revert' })).toHaveLength(1)
    })

    it('/rollback of the first deploy with main protected: the revert is a pull request, and the report names main as the protected branch', async () => {
      const first = await deployFirst()
      site.protect('main')
      nockPrCommand(github, { head: site.sha(BRANCH), merged: true })
      nockCreateCommentReaction(OWNER, REPO, 3001)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockCreateCommentReaction(OWNER, REPO, 3001)
      nockBotIdentity()
      const branch = `devsys/revert-${first.sha.slice(0, 12)}`
      nockListPulls(OWNER, REPO, branch)
      const pull = nockCreatePull(OWNER, REPO, 9).body
      const comments = nockNewPrComments(1002, 1003)

      await devsys.deliver('issue_comment', commentPayload(site, '/rollback'))

      const opened = await pull
      expect(opened).toMatchObject({ head: branch, base: 'main' })
      // Nothing was switched: the PR says the site still serves the commit until it is merged.
      expect(opened.body).toContain(`\`production\` still serves ${first.sha.slice(0, 7)}`)
      expect(opened.body).not.toContain('switched `production` back')
      const { revert: text = '' } = await comments()
      expect(text).toContain('`main` is protected, so the revert of')
      expect(text).not.toContain(`\`${branch}\` is protected`)
      expect(site.sha('main')).toBe(first.sha)
      expect(await live(first.url)).toBe('Hello from DevSys: v1')
    })

    it('/rollback of a first deploy made with /deploy (no merge to revert) says so, changes nothing and gives no advice that fails', async () => {
      await saveTask(devsys, site)
      const head = site.commit(BRANCH, { ...page('pr'), ...taskRecord() }, 'pr head')
      nockPrCommand(github, { head })
      nockCreateCommentReaction(OWNER, REPO, 3001)
      const mocks = nockDeploy({ deploymentId: 601, statuses: 2 })
      nockCreateIssueComment(OWNER, REPO, PR)
      nockCreateCommentReaction(OWNER, REPO, 3001)
      await devsys.deliver('issue_comment', commentPayload(site, '/deploy'))
      const url = (await mocks.statuses[1])?.environment_url as string

      nockPrCommand(github, { head, merged: true })
      nockCreateCommentReaction(OWNER, REPO, 3002)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      // A comment of its own: the "Deployed" comment 1001 stays.
      const answer = nockCreateIssueComment(OWNER, REPO, PR, { id: 1002 })
      const confused = nockCreateCommentReaction(OWNER, REPO, 3002).body
      await devsys.deliver('issue_comment', commentPayload(site, '/rollback', 'mona', 3002))

      const text = (await answer.body).body
      expect(text).toContain('<!-- devsys:rollback -->')
      expect(text).toContain('was the first deploy of `production`')
      expect(text).toContain('no merge on `main` to revert')
      expect(text).toContain('DevSys changed nothing')
      expect(text).not.toContain('Revert the merge')
      expect(await confused).toEqual({ content: 'confused' })
      const [rollback] = await devsys.queue.listJobs({ kind: 'rollback' })
      expect(rollback?.outcome).toMatchObject({ status: 'rejected', reason: 'no-previous-release' })
      expect(await devsys.queue.listJobs({ kind: 'revert' })).toEqual([])
      expect(await devsys.store.listDeployments({})).toMatchObject([
        { state: 'success', bad: false },
      ])
      expect(await live(url)).toBe('Hello from DevSys: pr')
    })

    it('the deploy lock is free by the time GitHub shows the deployment’s success', async () => {
      await saveTask(devsys, site)
      site.commit(BRANCH, { ...page('v1'), ...taskRecord() }, 'site v1')
      const sha = site.merge(BRANCH)
      nockDeploy({ deploymentId: 501, statuses: 1, pulls: { sha, numbers: [PR] } })
      let lockFree: boolean | undefined
      github()
        .post(
          `/repos/${OWNER}/${REPO}/deployments/501/statuses`,
          (body: { state: string }) => body.state === 'success',
        )
        .reply(async () => {
          const probe = await devsys.store.acquireDeployLock(LOCK, 'probe', 'test', 1000)
          lockFree = probe.acquired
          if (probe.acquired) await devsys.store.releaseDeployLock(LOCK, 'probe')
          return [201, { id: 50100, state: 'success' }]
        })
      nockCreateIssueComment(OWNER, REPO, PR)

      await devsys.deliver('push', pushPayload(site, sha))

      expect(lockFree).toBe(true)
      const [record] = await devsys.store.listDeployments({})
      expect(record).toMatchObject({ state: 'success' })
    })

    it('a /deploy that meets a lock held briefly waits for it and deploys', async () => {
      await saveTask(devsys, site)
      const head = site.commit(BRANCH, page('v2'), 'v2')
      await devsys.store.acquireDeployLock(LOCK, 'job:41', 'deploy of abc1234 (merge)', 60_000)
      setTimeout(() => void devsys.store.releaseDeployLock(LOCK, 'job:41'), 400)
      nockPrCommand(github, { head })
      nockCreateCommentReaction(OWNER, REPO, 3001)
      const mocks = nockDeploy({ deploymentId: 601, statuses: 2 })
      const answer = nockCreateIssueComment(OWNER, REPO, PR)
      nockCreateCommentReaction(OWNER, REPO, 3001)

      await devsys.deliver('issue_comment', commentPayload(site, '/deploy'))

      expect(await mocks.statuses[1]).toMatchObject({ state: 'success' })
      expect((await answer.body).body).toContain(`Deployed ${head.slice(0, 7)} to \`production\``)
      expect(await devsys.store.listDeployments({ environment: 'production' })).toHaveLength(1)
    })

    it('a /deploy refused as busy answers in its own comment: the “Deployed” comment of the PR stays', async () => {
      await deployFirst()
      await devsys.store.acquireDeployLock(LOCK, 'job:41', 'deploy of abc1234 (merge)', 60_000)
      const head = site.commit(BRANCH, page('v2'), 'v2')
      nockPrCommand(github, { head })
      nockCreateCommentReaction(OWNER, REPO, 3001)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      // A new comment (not an edit of the deploy comment 1001, which nothing mocks).
      const busy = nockCreateIssueComment(OWNER, REPO, PR, { id: 1003 })
      const confused = nockCreateCommentReaction(OWNER, REPO, 3001).body

      await devsys.deliver('issue_comment', commentPayload(site, '/deploy'))

      const text = (await busy.body).body
      expect(text).toContain('`production` is busy')
      expect(text).not.toContain('<!-- devsys:deploy -->')
      expect(await confused).toEqual({ content: 'confused' })
      expect(await devsys.store.getCommentId(`${OWNER}/${REPO}`, PR, 'deploy')).toBe(1001)
      expect(await devsys.store.listDeployments({})).toHaveLength(1)
    })
  },
)
