import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRemote, filesOn, git } from '../helpers/git-remote.js'
import {
  nockBotIdentity,
  nockCreateCheckRun,
  nockCreateIssueComment,
  nockCreatePull,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockListPulls,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'
import { examplePayload } from '../helpers/payloads.js'
import { type IntakeHarness, startIntake, testLabel } from '../intake/harness.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const CONFIG = '.github/devsys.yml'
const BRANCH = 'devsys/001-blog'
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/specs/${name}`, import.meta.url), 'utf8')
const spec = fixture('001-blog/spec.md')
const plan = fixture('001-blog/plan.md')

let remote: { root: string; bare: string }
let tmp: string
let devsys: IntakeHarness
useGitHubMock()

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
  devsys = await startIntake({ tmpDir: tmp, jobs: ['intake-issue', 'generate'] })
})
afterEach(async () => {
  await devsys.close()
  rmSync(remote.root, { recursive: true, force: true })
  rmSync(tmp, { recursive: true, force: true })
})

describe('a Spec Kit spec, end to end to the pull request', () => {
  it('turns the spec an issue names into a task, generates it, and opens a PR showing what DevSys understood', async () => {
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
    nockCreateCheckRun(OWNER, REPO)

    const issue = examplePayload('issues', 'labeled', (p) => {
      p.issue.body = 'Build the blog we specified.\n\nspec: specs/001-blog/spec.md\n'
      p.label = testLabel('devsys')
      p.issue.labels = [testLabel('devsys')]
      p.repository.clone_url = remote.bare
      p.repository.default_branch = 'main'
    })
    await devsys.deliver('issues', issue)

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
    const task = await devsys.store.getTask({ repo: `${OWNER}/${REPO}`, id: '001-blog' })
    expect(task?.manifestText).toBe(spec)
    expect(task?.code?.pullRequest?.number).toBe(5)
    const taskYml = git(remote.bare, 'show', `${BRANCH}:.devsys/task.yml`)
    expect(taskYml).toContain('priority: P2')
    expect(taskYml).toContain('Plain PHP pages, no framework')
  })
})
