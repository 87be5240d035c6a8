import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRemote, git } from '../helpers/git-remote.js'
import {
  nockBotIdentity,
  nockCommitPulls,
  nockCreateCheckRun,
  nockCreateDeployment,
  nockCreateIssueComment,
  nockCreatePull,
  nockCreateReaction,
  nockDeploymentStatus,
  nockGetBranch,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockListPulls,
  nockUpdateCheckRun,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'
import { requireTool } from '../helpers/require-tool.js'
import { type IntakeHarness, startIntake, testLabel } from '../intake/harness.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const CONFIG = '.github/devsys.yml'
const blog = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const hasPhp = requireTool('phpunit', "the generated blog's tests run with PHPUnit")

let remote: { root: string; bare: string }
let tmp: string
let devsys: IntakeHarness
const github = useGitHubMock()

beforeEach(async () => {
  remote = createRemote()
  tmp = mkdtempSync(join(tmpdir(), 'devsys-ws-'))
  devsys = await startIntake({ tmpDir: tmp })
})
afterEach(async () => {
  await devsys.close()
  rmSync(remote.root, { recursive: true, force: true })
  rmSync(tmp, { recursive: true, force: true })
})

describe('the whole pipeline', () => {
  it.skipIf(!hasPhp)(
    'issue → task → generated blog on a draft PR → its PHPUnit suite passes → PR ready → merged → deployed and verified live',
    async () => {
      // Intake
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
      nockCreateReaction(OWNER, REPO, 1)
      nockCreateIssueComment(OWNER, REPO, 1)
      // Generation
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockBotIdentity()
      nockListPulls(OWNER, REPO, 'devsys/create-blog')
      nockCreatePull(OWNER, REPO, 5)
      nockCreateIssueComment(OWNER, REPO, 5, { id: 2001 })
      nockUpdateIssueComment(OWNER, REPO, 1001)
      const queued = nockCreateCheckRun(OWNER, REPO, 90)
      // Tests
      const started = nockUpdateCheckRun(OWNER, REPO, 90)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      const completed = nockUpdateCheckRun(OWNER, REPO, 90)
      const status = nockUpdateIssueComment(OWNER, REPO, 2001)
      github()
        .get(`/repos/${OWNER}/${REPO}/pulls/5`)
        .reply(200, { number: 5, draft: true, node_id: 'PR_5' })
      const ready = github()
        .post('/graphql')
        .reply(200, {
          data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } },
        })
      // The issue's comment, which said "draft until its tests pass", follows the PR.
      const issueNow = nockUpdateIssueComment(OWNER, REPO, 1001)

      await devsys.deliver(
        'issues',
        examplePayload('issues', 'labeled', (p) => {
          p.issue.body = `\`\`\`json\n${blog}\n\`\`\``
          p.label = testLabel('devsys')
          p.issue.labels = [testLabel('devsys')]
          p.repository.clone_url = remote.bare
          p.repository.default_branch = 'main'
        }),
      )

      const head = git(remote.bare, 'rev-parse', 'devsys/create-blog')
      expect(await queued.body).toMatchObject({ status: 'queued', head_sha: head })
      expect(await started.body).toMatchObject({ status: 'in_progress' })
      const done = await completed.body
      expect(done).toMatchObject({ status: 'completed', conclusion: 'success' })
      expect(done.output?.title).toMatch(/^\d+ passed, 0 skipped$/)
      expect((await status.body).body).toContain('DevSys tests: passed')
      expect(ready.isDone()).toBe(true)
      const issueText = (await issueNow.body).body
      expect(issueText).toContain('(ready for review)')
      expect(issueText).not.toContain('draft until its tests pass')
      expect(
        await devsys.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: 'create-blog' }),
      ).toMatchObject({
        conclusion: 'success',
        headSha: head,
        runner: 'local',
      })

      // Merge (as GitHub's merge button does) and the push of the merge: deploy to production.
      const work = join(remote.root, 'merge')
      git(remote.root, 'clone', '-q', remote.bare, work)
      git(
        work,
        'merge',
        '-q',
        '--no-ff',
        '-m',
        'Merge pull request #5',
        'origin/devsys/create-blog',
      )
      git(work, 'push', '-q', 'origin', 'main')
      const merge = git(work, 'rev-parse', 'HEAD')
      nockGetBranch(OWNER, REPO, 'main', merge)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockCommitPulls(OWNER, REPO, merge, [5])
      const deployment = nockCreateDeployment(OWNER, REPO, 700).body
      const inProgress = nockDeploymentStatus(OWNER, REPO, 700).body
      const acceptance = nockCreateCheckRun(OWNER, REPO, 91).body
      const verified = nockUpdateCheckRun(OWNER, REPO, 91).body
      const live = nockDeploymentStatus(OWNER, REPO, 700).body
      const deployed = nockCreateIssueComment(OWNER, REPO, 5, { id: 2002 })
      await devsys.deliver(
        'push',
        examplePayload('push', undefined, (p) => {
          p.ref = 'refs/heads/main'
          p.after = merge
          p.deleted = false
          p.repository.clone_url = remote.bare
          p.repository.default_branch = 'main'
          p.repository.master_branch = 'main'
        }),
      )
      expect(await deployment).toMatchObject({ ref: merge, environment: 'production' })
      expect(await inProgress).toMatchObject({ state: 'in_progress' })
      expect(await acceptance).toMatchObject({ name: 'DevSys / acceptance', head_sha: merge })
      expect(await verified).toMatchObject({
        conclusion: 'success',
        output: { title: '3 of 3 acceptance checks passed in production' },
      })
      const success = await live
      expect(success).toMatchObject({ state: 'success' })
      const page = await httpRequest(`${success.environment_url}/post.php?id=1`)
      expect(page.status).toBe(200)
      expect(page.text).toContain('This is the first post.')
      expect((await deployed.body).body).toContain('Acceptance: 3 of 3 checks passed.')
    },
  )
})
