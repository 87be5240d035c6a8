import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRemote, filesOn, git } from '../helpers/git-remote.js'
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
const BRANCH = 'devsys/001-blog'
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/specs/${name}`, import.meta.url), 'utf8')
const spec = fixture('001-blog/spec.md')
const plan = fixture('001-blog/plan.md')
const hasPhp = requireTool('phpunit', "the generated blog's tests run with PHPUnit")

let remote: { root: string; bare: string }
let tmp: string
let devsys: IntakeHarness | undefined
const github = useGitHubMock()

beforeEach(async () => {
  // The "GitHub" repository holds the spec-kit feature folder, as `specify` leaves it.
  remote = createRemote()
  const seed = join(remote.root, 'seed')
  mkdirSync(join(seed, 'specs/001-blog'), { recursive: true })
  writeFileSync(join(seed, 'specs/001-blog/spec.md'), spec)
  writeFileSync(join(seed, 'specs/001-blog/plan.md'), plan)
  git(seed, 'add', '-A')
  git(seed, 'commit', '-q', '-m', 'Specify the blog')
  git(seed, 'push', '-q', remote.bare, 'main')
  tmp = mkdtempSync(join(tmpdir(), 'devsys-ws-'))
  // Up to the pull request: the tests it queues run in test/jobs/run-tests.test.ts.
})
afterEach(async () => {
  await devsys?.close()
  devsys = undefined
  rmSync(remote.root, { recursive: true, force: true })
  rmSync(tmp, { recursive: true, force: true })
})

/** Intake of the issue naming the spec, and the first generation up to PR #5. */
function mockIntakeAndGeneration() {
  // Intake: the repo config, the requester's role, the spec and its plan (no tasks.md).
  nockGetContent(OWNER, REPO, CONFIG, null, null)
  nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
  nockGetContent(OWNER, REPO, 'specs/001-blog/spec.md', 'main', spec)
  nockGetContent(OWNER, REPO, 'specs/001-blog/plan.md', 'main', plan)
  nockGetContent(OWNER, REPO, 'specs/001-blog/tasks.md', 'main', null)
  nockCreateReaction(OWNER, REPO, 1)
  nockCreateIssueComment(OWNER, REPO, 1)
  // Generation: the repo config again, the bot, the new PR #5, comments, the queued tests.
  nockGetContent(OWNER, REPO, CONFIG, null, null)
  nockBotIdentity()
  nockListPulls(OWNER, REPO, BRANCH)
  const pr = nockCreatePull(OWNER, REPO, 5)
  nockCreateIssueComment(OWNER, REPO, 5, { id: 2001 })
  nockUpdateIssueComment(OWNER, REPO, 1001)
  return { pr, queued: nockCreateCheckRun(OWNER, REPO, 90) }
}

function issueNamingTheSpec() {
  return examplePayload('issues', 'labeled', (p) => {
    p.issue.body = 'Build the blog we specified.\n\nspec: specs/001-blog/spec.md\n'
    p.label = testLabel('devsys')
    p.issue.labels = [testLabel('devsys')]
    p.repository.clone_url = remote.bare
    p.repository.default_branch = 'main'
  })
}

describe('a Spec Kit spec, end to end', () => {
  it('turns the spec an issue names into a task, generates it, and opens a PR showing what DevSys understood', async () => {
    // Up to the pull request: the tests it queues run in the next test.
    devsys = await startIntake({ tmpDir: tmp, jobs: ['intake-issue', 'generate'] })
    const { pr } = mockIntakeAndGeneration()
    await devsys.deliver('issues', issueNamingTheSpec())

    // The scaffold generated the blog on devsys/001-blog, beside the spec folder.
    expect(filesOn(remote.bare, BRANCH)).toEqual(
      expect.arrayContaining(['public/index.php', 'public/post.php', 'specs/001-blog/spec.md']),
    )
    const opened = await pr.body
    expect(opened).toMatchObject({ head: BRANCH, base: 'main', title: 'DevSys: Team blog' })
    const body = opened.body ?? ''
    expect(body).toContain('Closes #1.')
    // The derived acceptance checks, as for a manifest…
    expect(body).toContain('| `GET /` | status 200, contains “Hello, world” |')
    expect(body).toContain('| `GET /post.php?id=999` | status 404 |')
    // …and what became of each scenario, with its line in spec.md.
    expect(body).toContain('#### What DevSys understood from the spec')
    expect(body).toContain(
      '| User Story 1 (P1), scenario 1 | 32 | **Given** a blog with the post "Hello, world", **When** a reader opens `/`, **Then** the page shows "Hello, world" | acceptance check `us1-as1`: `GET /` → status 200, contains “Hello, world” |',
    )
    expect(body).toContain(
      '| User Story 1 (P1), scenario 2 | 33 | **Given** a blog with posts, **When** a reader scrolls to the bottom, **Then** older posts are listed by date | checklist: the When step names no request path in backticks |',
    )
    expect(body).toContain(
      '| User Story 2 (P2), scenario 2 | 48 | **Given** no post 999, **When** a visitor opens `/post.php?id=999`, **Then** the page answers 404 | acceptance check `us2-as2`: `GET /post.php?id=999` → status 404 |',
    )
    expect(body).toContain(
      '- [ ] User Story 1, scenario 2: **Given** a blog with posts, **When** a reader scrolls to the bottom, **Then** older posts are listed by date',
    )
    expect(body).toContain('- [ ] FR-001: System MUST list posts newest first on the home page.')
    expect(body).toContain('- [ ] SC-001: A reader finds the newest post in under 5 seconds.')

    // The stored task keeps the spec as written, and its task spec the stories' priorities and the plan.
    const task = await devsys?.store.getTask({ repo: `${OWNER}/${REPO}`, id: '001-blog' })
    expect(task?.manifestText).toBe(spec)
    expect(task?.code?.pullRequest?.number).toBe(5)
    const taskYml = git(remote.bare, 'show', `${BRANCH}:.devsys/task.yml`)
    expect(taskYml).toContain('priority: P2')
    expect(taskYml).toContain('Plain PHP pages, no framework')
  })

  it.skipIf(!hasPhp)(
    "spec → PR → the blog's tests pass → merged → deployed, verified live with the checks its scenarios became",
    async () => {
      devsys = await startIntake({ tmpDir: tmp })
      const { queued } = mockIntakeAndGeneration()
      // Tests of the generated blog: the PR leaves draft once they pass.
      const started = nockUpdateCheckRun(OWNER, REPO, 90)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      const completed = nockUpdateCheckRun(OWNER, REPO, 90)
      nockUpdateIssueComment(OWNER, REPO, 2001)
      github()
        .get(`/repos/${OWNER}/${REPO}/pulls/5`)
        .reply(200, { number: 5, draft: true, node_id: 'PR_5' })
      github()
        .post('/graphql')
        .reply(200, {
          data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } },
        })
      nockUpdateIssueComment(OWNER, REPO, 1001)

      await devsys.deliver('issues', issueNamingTheSpec())

      const head = git(remote.bare, 'rev-parse', BRANCH)
      expect(await queued.body).toMatchObject({ status: 'queued', head_sha: head })
      expect(await started.body).toMatchObject({ status: 'in_progress' })
      expect(await completed.body).toMatchObject({ conclusion: 'success' })

      // Merge (as GitHub's merge button does) and the push of the merge: deploy to production.
      const work = join(remote.root, 'merge')
      git(remote.root, 'clone', '-q', remote.bare, work)
      git(work, 'merge', '-q', '--no-ff', '-m', 'Merge pull request #5', `origin/${BRANCH}`)
      git(work, 'push', '-q', 'origin', 'main')
      const merge = git(work, 'rev-parse', 'HEAD')
      nockGetBranch(OWNER, REPO, 'main', merge)
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockCommitPulls(OWNER, REPO, merge, [5])
      const deployment = nockCreateDeployment(OWNER, REPO, 700).body
      nockDeploymentStatus(OWNER, REPO, 700)
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
      expect(await acceptance).toMatchObject({ name: 'DevSys / acceptance', head_sha: merge })
      // The three scenarios that became checks (us1-as1, us2-as1, us2-as2) pass on the live blog.
      const checked = await verified
      expect(checked).toMatchObject({
        conclusion: 'success',
        output: { title: '3 of 3 acceptance checks passed in production' },
      })
      expect(JSON.stringify(checked.output)).toContain('us2-as2')
      const success = await live
      expect(success).toMatchObject({ state: 'success' })
      const missing = await httpRequest(`${success.environment_url}/post.php?id=999`)
      expect(missing.status).toBe(404)
      expect((await deployed.body).body).toContain('Acceptance: 3 of 3 checks passed.')
    },
  )
})
