import { readlinkSync } from 'node:fs'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { localDeployRoot } from '../../src/deploy/create-target.js'
import {
  githubRequests,
  nockBotIdentity,
  nockCommitPulls,
  nockCreateCommentReaction,
  nockCreateDeployment,
  nockCreateIssueComment,
  nockCreatePull,
  nockDeploymentStatus,
  nockGetBranch,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockListPulls,
  nockUpdateIssueComment,
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
  OWNER,
  PR,
  page,
  pushPayload,
  REPO,
  SiteRepo,
  saveTask,
  TASK,
  taskRecord,
} from './deploy-fixture.js'

const github = useGitHubMock()
let site: SiteRepo
let devsys: IntakeHarness

beforeEach(async () => {
  site = new SiteRepo()
  devsys = await startIntake({ jobs: ['deploy', 'revert', 'rollback', 'pr-command'] })
})
afterEach(async () => {
  await devsys.close()
})

/** The live site: what the served URL answers now. */
async function live(url: string): Promise<string> {
  return (await httpRequest(url)).text
}

function root(environment = 'production'): string {
  return localDeployRoot(devsys.dataDir, `${OWNER}/${REPO}`, environment)
}

function currentRelease(environment = 'production'): string {
  return basename(readlinkSync(join(root(environment), 'current')))
}

/** Merges a version of the site and delivers the push of the merge; returns the merge commit. */
async function mergeAndPush(text: string, deploymentId: number, statuses = 2) {
  // DevSys commits the task's record with its code, as its generators do.
  site.commit(BRANCH, { ...page(text), ...taskRecord() }, `site ${text}`)
  const sha = site.merge(BRANCH)
  const mocks = nockDeploy({ deploymentId, statuses, pulls: { sha, numbers: [PR] } })
  return { sha, mocks }
}

describe.skipIf(!requireTool('php', 'serves the local deploy target for real HTTP checks'))(
  'deploy job (local target served by php -S)',
  () => {
    it('a merge deploys main to production: GitHub deployment in_progress → success with its URL, acceptance check run, history', async () => {
      await saveTask(devsys, site)
      const { sha, mocks } = await mergeAndPush('v1', 501)
      const comment = nockCreateIssueComment(OWNER, REPO, PR)

      await devsys.deliver('push', pushPayload(site, sha))

      expect(await mocks.deployment).toMatchObject({
        ref: sha,
        environment: 'production',
        production_environment: true,
        auto_merge: false,
        required_contexts: [],
      })
      expect(await mocks.statuses[0]).toMatchObject({ state: 'in_progress' })
      const success = await mocks.statuses[1]
      expect(success).toMatchObject({ state: 'success' })
      const url = success?.environment_url as string
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(await live(url)).toBe('Hello from DevSys: v1')
      expect(await mocks.check?.created).toMatchObject({
        name: 'DevSys / acceptance',
        head_sha: sha,
        status: 'in_progress',
      })
      expect(await mocks.check?.completed).toMatchObject({ conclusion: 'success' })
      expect((await comment.body).body).toContain(`Live at ${url}`)

      const [record] = await devsys.store.listDeployments({ environment: 'production' })
      expect(record).toMatchObject({
        repo: `${OWNER}/${REPO}`,
        taskId: 'hello-site',
        trigger: 'merge',
        commitSha: sha,
        releaseId: site.sha(`${sha}^{tree}`),
        state: 'success',
        bad: false,
        githubDeploymentId: 501,
        url,
        verification: expect.objectContaining({ ok: true }),
      })
      expect(currentRelease()).toBe(record?.releaseId)
      // The deploy lock is free again.
      expect(
        await devsys.store.acquireDeployLock(`${OWNER}/${REPO}:production`, 'probe', 'test', 1000),
      ).toEqual({ acquired: true })
    })

    it('a push to main that is no DevSys task’s merge, in a repository DevSys never deployed, deploys nothing; a redelivered push is one job', async () => {
      const sha = site.commit('main', { 'notes.md': 'hello\n' }, 'notes')
      nockGetBranch(OWNER, REPO, 'main', sha)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockCommitPulls(OWNER, REPO, sha, [])
      await devsys.deliver('push', pushPayload(site, sha), 'delivery-push-1')
      await devsys.deliver('push', pushPayload(site, sha), 'delivery-push-1')
      const jobs = await devsys.queue.listJobs({ kind: 'deploy' })
      expect(jobs).toHaveLength(1)
      expect(jobs[0]?.outcome).toMatchObject({ status: 'skipped', reason: 'not-deployed-here' })
      expect(await devsys.store.listDeployments({})).toEqual([])
    })

    it('the next merge sends only the changed file, goes live, and marks the previous GitHub deployment inactive', async () => {
      await saveTask(devsys, site)
      const first = await mergeAndPush('v1', 501)
      nockCreateIssueComment(OWNER, REPO, PR)
      await devsys.deliver('push', pushPayload(site, first.sha))
      const url = (await first.mocks.statuses[1])?.environment_url as string

      const second = await mergeAndPush('v2', 502)
      const inactive = nockDeploymentStatus(OWNER, REPO, 501).body
      nockUpdateIssueComment(OWNER, REPO, 1001)
      await devsys.deliver('push', pushPayload(site, second.sha))

      expect(await second.mocks.statuses[1]).toMatchObject({
        state: 'success',
        environment_url: url,
      })
      expect(await inactive).toMatchObject({ state: 'inactive' })
      expect(await live(url)).toBe('Hello from DevSys: v2')
      const job = (await devsys.queue.listJobs({ kind: 'deploy', state: 'done' })).at(-1)
      expect(job?.outcome).toMatchObject({
        details: { sent: 1, alreadyThere: false, reused: expect.any(Number) },
      })
      expect(job?.outcome).not.toMatchObject({ details: { reused: 0 } })
    })

    it('an old push delivered again after a newer one deploys nothing: the site stays on the newer release', async () => {
      await saveTask(devsys, site)
      const first = await mergeAndPush('v1', 501)
      nockCreateIssueComment(OWNER, REPO, PR)
      await devsys.deliver('push', pushPayload(site, first.sha), 'delivery-first')
      const url = (await first.mocks.statuses[1])?.environment_url as string
      const second = await mergeAndPush('v2', 502)
      nockDeploymentStatus(OWNER, REPO, 501)
      nockUpdateIssueComment(OWNER, REPO, 1001)
      await devsys.deliver('push', pushPayload(site, second.sha), 'delivery-second')
      expect(await live(url)).toBe('Hello from DevSys: v2')
      const before = await devsys.store.listDeployments({})

      // The first push again, re-signed under a new delivery id: GitHub says main is at v2.
      const head = nockGetBranch(OWNER, REPO, 'main', () => site.sha('main'))
      await devsys.deliver('push', pushPayload(site, first.sha), 'delivery-replayed')
      expect(head.isDone()).toBe(true)
      const replayed = (await devsys.queue.listJobs({ kind: 'deploy' })).at(-1)
      expect(replayed?.deliveryId).toMatch(/^delivery-replayed/)
      expect(replayed?.outcome).toMatchObject({ status: 'skipped', reason: 'not-branch-head' })
      expect(await devsys.store.listDeployments({})).toEqual(before)
      expect(await live(url)).toBe('Hello from DevSys: v2')
    })

    it('failing verification switches straight back, marks the release bad, and pushes a revert of the merge; the revert deploys by switching only', async () => {
      await saveTask(devsys, site)
      const good = await mergeAndPush('v1', 501)
      nockCreateIssueComment(OWNER, REPO, PR)
      await devsys.deliver('push', pushPayload(site, good.sha))
      const url = (await good.mocks.statuses[1])?.environment_url as string
      const goodRelease = currentRelease()

      // The broken version loses the text the acceptance check looks for.
      site.commit(BRANCH, { 'public/index.php': "<?php echo 'Oops';\n" }, 'break the page')
      const badSha = site.merge(BRANCH)
      const bad = nockDeploy({
        deploymentId: 502,
        statuses: 2,
        pulls: { sha: badSha, numbers: [PR] },
      })
      nockUpdateIssueComment(OWNER, REPO, 1001)
      // The revert job: bot identity for the commit, then a comment on the task's PR.
      nockBotIdentity()
      const revertComment = nockCreateIssueComment(OWNER, REPO, PR, { id: 1002 })
      await devsys.deliver('push', pushPayload(site, badSha))

      expect(await bad.check?.completed).toMatchObject({ conclusion: 'failure' })
      expect(await bad.statuses[1]).toMatchObject({ state: 'failure' })
      expect(await live(url)).toBe('Hello from DevSys: v1')
      expect(currentRelease()).toBe(goodRelease)
      const [record] = await devsys.store.listDeployments({ environment: 'production', limit: 1 })
      expect(record).toMatchObject({ commitSha: badSha, state: 'failure', bad: true })
      // main got a revert of the merge, so main describes what is live again.
      const head = site.sha('main')
      expect(site.log('main')).toContain(`This reverts commit ${badSha}.`)
      expect(site.sha(`${head}^{tree}`)).toBe(goodRelease)
      expect((await revertComment.body).body).toContain(
        `Reverted ${badSha.slice(0, 7)} on \`main\``,
      )
      expect((await devsys.store.getDeployment(record?.id ?? 0))?.revert).toMatchObject({
        kind: 'pushed',
        sha: head,
      })

      // GitHub sends the push of the revert: its tree is the good release, already on the target.
      const revert = nockDeploy({
        deploymentId: 503,
        statuses: 2,
        pulls: { sha: head, numbers: [] },
      })
      const inactive = nockDeploymentStatus(OWNER, REPO, 501).body
      await devsys.deliver('push', pushPayload(site, head))
      expect(await revert.statuses[1]).toMatchObject({ state: 'success' })
      expect(await inactive).toMatchObject({ state: 'inactive' })
      const job = (await devsys.queue.listJobs({ kind: 'deploy', state: 'done' })).at(-1)
      expect(job?.outcome).toMatchObject({ details: { alreadyThere: true, sent: 0 } })
      expect(await live(url)).toBe('Hello from DevSys: v1')
    })

    it('/deploy --dry-run lists what would be added, changed and removed against the live release, and deploys nothing', async () => {
      await saveTask(devsys, site)
      const first = await mergeAndPush('v1', 501)
      nockCreateIssueComment(OWNER, REPO, PR)
      await devsys.deliver('push', pushPayload(site, first.sha))
      const before = currentRelease()

      const head = site.commit(
        BRANCH,
        { ...page('v2'), 'public/about.php': '<?php echo 1;\n', 'README.md': null },
        'more',
      )
      nockCommand({ head })
      const eyes = nockCreateCommentReaction(OWNER, REPO, 3001).body
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      // The deploy sticky comment of the merge is edited in place.
      const answer = nockUpdateIssueComment(OWNER, REPO, 1001)
      await devsys.deliver('issue_comment', commentPayload(site, '/deploy --dry-run'))

      expect(await eyes).toEqual({ content: 'eyes' })
      const text = (await answer.body).body
      expect(text).toContain('1 added, 1 changed, 1 removed')
      expect(text).toMatch(/\*\*Added \(1\)\*\*\n\n- `public\/about.php`/)
      expect(text).toMatch(/\*\*Changed \(1\)\*\*\n\n- `public\/index.php`/)
      expect(text).toMatch(/\*\*Removed \(1\)\*\*\n\n- `README.md`/)
      expect(currentRelease()).toBe(before)
      expect(await devsys.store.listDeployments({})).toHaveLength(1)
    })

    it('/deploy staging deploys the PR head there: 👀, then 🚀 and the URL; production is untouched', async () => {
      await saveTask(devsys, site)
      const head = site.commit(BRANCH, page('preview'), 'preview')
      const config = 'environments:\n  staging:\n    target: local\n'
      nockCommand({ head, config })
      const eyes = nockCreateCommentReaction(OWNER, REPO, 3001).body
      const mocks = nockDeploy({ deploymentId: 601, statuses: 2, config })
      const answer = nockCreateIssueComment(OWNER, REPO, PR)
      const rocket = nockCreateCommentReaction(OWNER, REPO, 3001).body

      await devsys.deliver('issue_comment', commentPayload(site, '/deploy staging'))

      expect(await eyes).toEqual({ content: 'eyes' })
      expect(await mocks.deployment).toMatchObject({
        ref: head,
        environment: 'staging',
        production_environment: false,
      })
      const success = await mocks.statuses[1]
      expect(success).toMatchObject({ state: 'success' })
      expect(await live(success?.environment_url as string)).toBe('Hello from DevSys: preview')
      expect((await answer.body).body).toContain(`Deployed ${head.slice(0, 7)} to \`staging\``)
      expect(await rocket).toEqual({ content: 'rocket' })
      expect(await devsys.store.listDeployments({ environment: 'production' })).toEqual([])
      expect(await devsys.store.listDeployments({ environment: 'staging' })).toMatchObject([
        { trigger: 'command', actor: 'mona', commitSha: head, ref: BRANCH, state: 'success' },
      ])
      // The command is in the audit log, in the shape an API deploy writes.
      expect(await devsys.store.queryAudit({ action: 'deploy' })).toEqual([
        expect.objectContaining({
          actor: 'mona',
          via: 'github-comment',
          action: 'deploy',
          subject: `task:${OWNER}/${REPO}#${TASK}`,
          target: { repo: `${OWNER}/${REPO}`, task: TASK, environment: 'staging', release: null },
          requestId: 'comment:3001',
          sourceIp: null,
          result: 'accepted',
          details: { pr: PR, commentId: 3001, commit: head, dryRun: false },
        }),
      ])
    })

    it('the same /deploy comment delivered again under a new delivery id runs nothing and reacts nothing', async () => {
      await saveTask(devsys, site)
      const head = site.commit(BRANCH, page('once'), 'once')
      const config = 'environments:\n  staging:\n    target: local\n'
      nockCommand({ head, config })
      nockCreateCommentReaction(OWNER, REPO, 3001)
      const mocks = nockDeploy({ deploymentId: 601, statuses: 2, config })
      nockCreateIssueComment(OWNER, REPO, PR)
      nockCreateCommentReaction(OWNER, REPO, 3001)
      await devsys.deliver('issue_comment', commentPayload(site, '/deploy staging'), 'delivery-a')
      expect(await mocks.statuses[1]).toMatchObject({ state: 'success' })
      const sent = githubRequests().length

      // A re-signed copy of the same comment (id 3001): no GitHub mock is left to answer it.
      await devsys.deliver('issue_comment', commentPayload(site, '/deploy staging'), 'delivery-b')
      expect(githubRequests().length).toBe(sent)
      const commands = await devsys.queue.listJobs({ kind: 'pr-command' })
      expect(commands.map((j) => j.outcome)).toMatchObject([
        { status: 'done' },
        { status: 'skipped', reason: 'comment-already-handled' },
      ])
      expect(await devsys.queue.listJobs({ kind: 'deploy' })).toHaveLength(1)
      expect(await devsys.store.listDeployments({ environment: 'staging' })).toHaveLength(1)
    })

    it('a second /deploy while one runs is told who holds the environment, and nothing is deployed', async () => {
      await saveTask(devsys, site)
      const head = site.commit(BRANCH, page('v1'), 'v1')
      await devsys.store.acquireDeployLock(
        `${OWNER}/${REPO}:production`,
        'job:41',
        'deploy of abc1234 for @alice (merge)',
        60_000,
      )
      nockCommand({ head })
      nockCreateCommentReaction(OWNER, REPO, 3001)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      const answer = nockCreateIssueComment(OWNER, REPO, PR)
      const confused = nockCreateCommentReaction(OWNER, REPO, 3001).body

      await devsys.deliver('issue_comment', commentPayload(site, '/deploy'))

      const text = (await answer.body).body
      expect(text).toContain('`production` is busy')
      expect(text).toContain('deploy of abc1234 for @alice (merge)')
      expect(await confused).toEqual({ content: 'confused' })
      expect(await devsys.store.listDeployments({})).toEqual([])
    })

    it.each([
      {
        name: 'a fork',
        opts: { fork: true },
        expected: 'lives in mallory/hello-world, not in octo-org/hello-world',
      },
      {
        name: 'an environment that is not configured',
        body: '/deploy qa',
        expected: 'There is no environment `qa`',
      },
      {
        name: 'a writer where production needs maintain',
        opts: {
          config:
            'environments:\n  production:\n    target: local\n    deployPermission: maintain\n',
        },
        expected: "`/deploy` needs 'maintain'",
      },
    ])(
      'refuses /deploy from $name with the reason, and deploys nothing',
      async ({ opts, body, expected }) => {
        await saveTask(devsys, site)
        const head = site.commit(BRANCH, page('v1'), 'v1')
        nockCommand({ head, ...opts }, !expected.includes('needs'))
        const answer = nockCreateIssueComment(OWNER, REPO, PR)
        const confused = nockCreateCommentReaction(OWNER, REPO, 3001).body
        await devsys.deliver('issue_comment', commentPayload(site, body ?? '/deploy'))
        expect((await answer.body).body).toContain(expected)
        expect(await confused).toEqual({ content: 'confused' })
        expect(await devsys.queue.listJobs({ kind: 'deploy' })).toEqual([])
      },
    )

    it('/rollback on the merged PR switches straight back to the release before it and reverts its merge on main', async () => {
      await saveTask(devsys, site)
      const first = await mergeAndPush('v1', 501)
      nockCreateIssueComment(OWNER, REPO, PR)
      await devsys.deliver('push', pushPayload(site, first.sha))
      const url = (await first.mocks.statuses[1])?.environment_url as string
      const v1 = currentRelease()
      const second = await mergeAndPush('v2', 502)
      nockDeploymentStatus(OWNER, REPO, 501)
      nockUpdateIssueComment(OWNER, REPO, 1001)
      await devsys.deliver('push', pushPayload(site, second.sha))
      expect(await live(url)).toBe('Hello from DevSys: v2')

      nockCommand({ head: site.sha(BRANCH), merged: true })
      nockCreateCommentReaction(OWNER, REPO, 3001)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      const restored = nockCreateDeployment(OWNER, REPO, 503).body
      const restoredStatus = nockDeploymentStatus(OWNER, REPO, 503).body
      const inactive = nockDeploymentStatus(OWNER, REPO, 502).body
      // The rollback answers in a comment of its own (the deploy's comment 1001 stays), and the
      // revert reports in another.
      const comments = nockNewPrComments(1002, 1003)
      const rocket = nockCreateCommentReaction(OWNER, REPO, 3001).body
      nockBotIdentity()

      await devsys.deliver('issue_comment', commentPayload(site, '/rollback'))

      expect(await live(url)).toBe('Hello from DevSys: v1')
      expect(currentRelease()).toBe(v1)
      expect(await restored).toMatchObject({ ref: first.sha, environment: 'production' })
      expect(await restoredStatus).toMatchObject({ state: 'success', environment_url: url })
      expect(await inactive).toMatchObject({ state: 'inactive' })
      const { rollback: answer, revert } = await comments()
      expect(answer).toContain('Rolled back `production`')
      expect(revert).toContain(`Reverted ${second.sha.slice(0, 7)}`)
      expect(await devsys.store.getCommentId(`${OWNER}/${REPO}`, PR, 'deploy')).toBe(1001)
      expect(await rocket).toEqual({ content: 'rocket' })
      const [rollback, rolledBack] = await devsys.store.listDeployments({
        environment: 'production',
      })
      expect(rollback).toMatchObject({
        trigger: 'rollback',
        actor: 'mona',
        commitSha: first.sha,
        releaseId: v1,
        rollbackOf: rolledBack?.id,
        state: 'success',
      })
      expect(rolledBack).toMatchObject({ commitSha: second.sha, state: 'rolled_back', bad: true })
      expect(site.log('main')).toContain(`This reverts commit ${second.sha}.`)
      expect(site.sha('main^{tree}')).toBe(v1) // The command and the switch it caused are both in the audit log.
      expect(await devsys.store.queryAudit({ action: 'rollback' })).toMatchObject([
        { actor: 'mona', via: 'github-comment', result: 'accepted' },
      ])
      expect(await devsys.store.queryAudit({ action: 'deploy.rolled-back' })).toMatchObject([
        {
          actor: 'mona',
          target: { repo: `${OWNER}/${REPO}`, environment: 'production', release: v1 },
          before: { commit: second.sha },
          after: { release: v1 },
          result: 'ok',
        },
      ])
    })

    it('/rollback on a PR that is not merged is refused', async () => {
      await saveTask(devsys, site)
      nockCommand({ head: site.commit(BRANCH, page('v1'), 'v1') })
      const answer = nockCreateIssueComment(OWNER, REPO, PR)
      nockCreateCommentReaction(OWNER, REPO, 3001)
      await devsys.deliver('issue_comment', commentPayload(site, '/rollback'))
      expect((await answer.body).body).toContain('Only a merged pull request can be rolled back')
      expect(await devsys.queue.listJobs({ kind: 'rollback' })).toEqual([])
      expect(await devsys.store.queryAudit({ action: 'rollback' })).toMatchObject([
        {
          actor: 'mona',
          via: 'github-comment',
          result: 'refused',
          target: { repo: `${OWNER}/${REPO}`, task: TASK },
          details: { reason: expect.any(String) },
        },
      ])
    })

    it('when main is protected, the revert of a release that failed verification becomes a pull request', async () => {
      await saveTask(devsys, site)
      const good = await mergeAndPush('v1', 501)
      nockCreateIssueComment(OWNER, REPO, PR)
      await devsys.deliver('push', pushPayload(site, good.sha))
      site.commit(BRANCH, { 'public/index.php': "<?php echo 'Oops';\n" }, 'break the page')
      const badSha = site.merge(BRANCH)
      site.protect('main')
      nockDeploy({ deploymentId: 502, statuses: 2, pulls: { sha: badSha, numbers: [PR] } })
      nockUpdateIssueComment(OWNER, REPO, 1001)
      nockBotIdentity()
      const branch = `devsys/revert-${badSha.slice(0, 12)}`
      nockListPulls(OWNER, REPO, branch)
      const pull = nockCreatePull(OWNER, REPO, 9).body
      const told = nockCreateIssueComment(OWNER, REPO, PR, { id: 1002 })

      await devsys.deliver('push', pushPayload(site, badSha))

      expect(await pull).toMatchObject({
        head: branch,
        base: 'main',
        title: expect.stringMatching(/^Revert "/),
      })
      const text = (await told.body).body
      // The protected branch is main, and the report says so (not the revert's own branch).
      expect(text).toContain(
        `\`main\` is protected, so the revert of ${badSha.slice(0, 7)} is pull request #9`,
      )
      expect(text).toContain(`(branch \`${branch}\`)`)
      expect(text).not.toContain(`\`${branch}\` is protected`)
      expect(site.sha('main')).toBe(badSha)
      expect(site.log(branch)).toContain(`This reverts commit ${badSha}.`)
      const [record] = await devsys.store.listDeployments({ limit: 1 })
      expect(record?.revert).toMatchObject({ kind: 'pull-request', number: 9, branch })
    })
  },
)

/**
 * What the pr-command job asks GitHub: the repo config, the commenter's role, and (when `pr`)
 * the PR, with its head in this repository unless `fork`, not merged unless `merged`.
 */
function nockCommand(
  opts: { head: string; fork?: boolean; merged?: boolean; config?: string | null },
  pr = true,
) {
  nockGetContent(OWNER, REPO, CONFIG, null, opts.config ?? null)
  nockGetCollaboratorPermission(OWNER, REPO, 'mona', 'write')
  if (!pr) return
  github()
    .get(`/repos/${OWNER}/${REPO}/pulls/${PR}`)
    .reply(200, {
      number: PR,
      merged: opts.merged ?? false,
      head: {
        ref: BRANCH,
        sha: opts.head,
        repo: { full_name: opts.fork ? `mallory/${REPO}` : `${OWNER}/${REPO}` },
      },
    })
}
