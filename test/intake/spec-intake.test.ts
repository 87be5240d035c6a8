import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  nockCreateCheckRun,
  nockCreateIssueComment,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockUpdateCheckRun,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'
import { examplePayload } from '../helpers/payloads.js'
import { testLabel, useIntake } from './harness.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const CONFIG = '.github/devsys.yml'
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/specs/${name}`, import.meta.url), 'utf8')
const spec = fixture('001-blog/spec.md')
const plan = fixture('001-blog/plan.md')
const tasks = fixture('001-blog/tasks.md')
const openMarkers = fixture('open-markers.spec.md')
const SHA = 'c0ffee'.padEnd(40, '0')

function labelled(body: string) {
  return examplePayload('issues', 'labeled', (p) => {
    p.issue.body = body
    p.label = testLabel('devsys')
    p.issue.labels = [testLabel('devsys')]
  })
}

function pushOf(modified: string[]) {
  return examplePayload('push', undefined, (p) => {
    const template = p.commits[0] ?? p.head_commit
    p.ref = 'refs/heads/master'
    p.deleted = false
    p.commits = [{ ...(template as (typeof p.commits)[number]), added: [], modified, removed: [] }]
    p.after = SHA
  })
}

useGitHubMock()

describe('Spec Kit specs through issue intake', () => {
  const devsys = useIntake({ jobs: ['intake-issue'] })

  it('turns an issue naming a spec into a task, with plan.md and tasks.md kept for the agent', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockGetContent(OWNER, REPO, 'specs/001-blog/spec.md', 'master', spec)
    nockGetContent(OWNER, REPO, 'specs/001-blog/plan.md', 'master', plan)
    nockGetContent(OWNER, REPO, 'specs/001-blog/tasks.md', 'master', tasks)
    const reaction = nockCreateReaction(OWNER, REPO, 1)
    const comment = nockCreateIssueComment(OWNER, REPO, 1)

    await devsys().deliver('issues', labelled('Build our blog.\n\nspec: specs/001-blog/spec.md\n'))

    expect(await reaction.body).toEqual({ content: 'rocket' })
    expect((await comment.body).body).toContain('task `001-blog` created')
    const task = await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: '001-blog' })
    expect(task).toMatchObject({ title: 'Team blog', manifestText: spec, status: 'pending' })
    expect(task?.source).toMatchObject({ kind: 'issue', issue: 1, path: 'specs/001-blog/spec.md' })
    expect(task?.spec).toContain('priority: P1')
    expect(task?.spec).toContain('path: /post.php?id=999')
    expect(task?.spec).toContain('Plain PHP pages, no framework')
    expect(task?.spec).toContain('T002 Write `post.php`')
    const [generate] = await devsys().queue.listJobs({ kind: 'generate' })
    expect(generate?.payload).toMatchObject({ taskId: '001-blog', reason: 'intake' })
  })

  it('refuses a spec in the issue body with every problem at its line:column, then edits the same comment once it is fixed', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    const first = nockCreateIssueComment(OWNER, REPO, 1)

    await devsys().deliver('issues', labelled(openMarkers))

    const { body } = await first.body
    expect(body).toContain('### DevSys could not accept this spec')
    expect(body).toContain('Edit the issue to fix the spec')
    expect(body).toContain('**issue #1 body** has 11 problems')
    expect(body).toMatch(/\| 1:26 \| `spec` \| template placeholder '\[FEATURE NAME\]'/)
    expect(body).toMatch(/\| 3:22 \| `spec` \| template placeholder '\[###-feature-name\]'/)
    expect(body).toMatch(/\| 4:14 \| `spec` \| template placeholder '\[DATE\]'/)
    expect(body).toMatch(/\| 5:31 \| `spec` \| template placeholder '\$ARGUMENTS'/)
    expect(body).toMatch(/\| 8:8 \| `\/stack` \| 'stack' is "rubyy"/)
    expect(body).toMatch(/\| 13:20 \| `spec` \| template placeholder '\[Brief Title\]'/)
    expect(body).toMatch(/\| 21:33 \| `User Story 2` \| User Story 2 has the priority 'high'/)
    expect(body).toMatch(/\| 32:52 \| `spec` \| open question: auth method not specified/)
    expect(body).toMatch(/\| 33:5 \| `FR-001` \| FR-001 is used twice \(first at line 31\)/)
    expect(await devsys().store.listTasks()).toEqual([])

    // The user fills the spec in: the same comment is edited, and the task's id comes from the title.
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    const edited = nockUpdateIssueComment(OWNER, REPO, 1001)
    const fixed = examplePayload('issues', 'edited', (p) => {
      p.issue.body = spec
      p.issue.labels = [testLabel('devsys')]
      p.changes = { body: { from: openMarkers } }
    })
    await devsys().deliver('issues', fixed)

    expect((await edited.body).body).toContain('task `team-blog` created')
    const task = await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: 'team-blog' })
    expect(task?.manifestText).toBe(spec)
  })
})

describe('Spec Kit specs through push intake', () => {
  const devsys = useIntake({ jobs: ['intake-push'] })

  it('annotates the check run on the pushed spec’s own lines', async () => {
    const path = 'specs/002-x/spec.md'
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetContent(OWNER, REPO, path, SHA, openMarkers)
    nockGetContent(OWNER, REPO, 'specs/002-x/plan.md', SHA, null)
    nockGetContent(OWNER, REPO, 'specs/002-x/tasks.md', SHA, null)
    nockCreateCheckRun(OWNER, REPO, 78)
    const completed = nockUpdateCheckRun(OWNER, REPO, 78)

    await devsys().deliver('push', pushOf([path, 'specs/002-x/notes.md']))

    const done = await completed.body
    expect(done).toMatchObject({ status: 'completed', conclusion: 'failure' })
    const annotations = done.output?.annotations as Array<Record<string, unknown>>
    expect(annotations).toHaveLength(11)
    expect(annotations.every((a) => a.path === path)).toBe(true)
    expect(annotations).toContainEqual(
      expect.objectContaining({ start_line: 8, start_column: 8, title: '/stack' }),
    )
    expect(annotations).toContainEqual(
      expect.objectContaining({
        start_line: 32,
        start_column: 52,
        title: 'spec',
        message: expect.stringContaining('open question: auth method not specified'),
      }),
    )
    expect(annotations).toContainEqual(
      expect.objectContaining({ start_line: 33, start_column: 5, title: 'FR-001' }),
    )
    expect(await devsys().store.listTasks()).toEqual([])
  })

  it('accepts a pushed spec as a task, reading plan.md and tasks.md from the same commit', async () => {
    const path = 'specs/001-blog/spec.md'
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetContent(OWNER, REPO, path, SHA, spec)
    nockGetContent(OWNER, REPO, 'specs/001-blog/plan.md', SHA, plan)
    nockGetContent(OWNER, REPO, 'specs/001-blog/tasks.md', SHA, null)
    nockCreateCheckRun(OWNER, REPO, 79)
    const completed = nockUpdateCheckRun(OWNER, REPO, 79)

    await devsys().deliver('push', pushOf([path]))

    const done = await completed.body
    expect(done).toMatchObject({ conclusion: 'success' })
    expect(done.output?.summary).toContain('`specs/001-blog/spec.md` | created | `001-blog`')
    const task = await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: '001-blog' })
    expect(task?.source).toMatchObject({ kind: 'push', path, commit: SHA })
    expect(task?.spec).toContain('Plain PHP pages, no framework')
    expect(task?.spec).not.toContain('tasks:')
  })

  it('reads specs where the repo config says they are', async () => {
    const path = 'docs/features/001-blog/spec.md'
    nockGetContent(OWNER, REPO, CONFIG, null, 'specs: ["docs/features/*/spec.md"]\n')
    nockGetContent(OWNER, REPO, path, SHA, spec)
    nockGetContent(OWNER, REPO, 'docs/features/001-blog/plan.md', SHA, null)
    nockGetContent(OWNER, REPO, 'docs/features/001-blog/tasks.md', SHA, null)
    nockCreateCheckRun(OWNER, REPO, 80)
    const completed = nockUpdateCheckRun(OWNER, REPO, 80)

    // specs/002-x/spec.md no longer matches: it is never read.
    await devsys().deliver('push', pushOf([path, 'specs/002-x/spec.md']))

    const done = await completed.body
    expect(done).toMatchObject({ conclusion: 'success', output: { title: '1 manifest accepted' } })
    expect(
      await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: '001-blog' }),
    ).toMatchObject({ source: { path } })
  })
})
