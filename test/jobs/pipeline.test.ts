import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRemote, git } from '../helpers/git-remote.js'
import {
  nockBotIdentity,
  nockCreateCheckRun,
  nockCreateIssueComment,
  nockCreatePull,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockListPulls,
  nockUpdateCheckRun,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'
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
    'issue → task → generated blog on a draft PR → its PHPUnit suite passes → PR ready for review',
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
      expect(await devsys.store.latestTestRun('create-blog')).toMatchObject({
        conclusion: 'success',
        headSha: head,
        runner: 'local',
      })
    },
  )
})
