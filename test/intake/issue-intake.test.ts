import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  githubRequests,
  nockCreateIssueComment,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'
import { examplePayload } from '../helpers/payloads.js'
import { testLabel, useIntake } from './harness.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const CONFIG = '.github/devsys.yml'
const blog = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const blogId = (JSON.parse(blog) as { id: string }).id

function labelled(body: string, label = 'devsys') {
  return examplePayload('issues', 'labeled', (p) => {
    p.issue.body = body
    p.label = testLabel(label)
    p.issue.labels = [testLabel(label)]
  })
}

function fenced(text: string, lang = 'json'): string {
  return `Please build this.\n\n\`\`\`${lang}\n${text}\n\`\`\`\n`
}

const mockGitHubScope = useGitHubMock()
// Intake only: the generation it queues is tested in test/jobs/generate-task.test.ts.
const devsys = useIntake({ jobs: ['intake-issue'] })

describe('issue intake', () => {
  it('turns a labelled issue with a valid manifest into a task, with a reaction and a status comment', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    const reaction = nockCreateReaction(OWNER, REPO, 1)
    const comment = nockCreateIssueComment(OWNER, REPO, 1)

    await devsys().deliver('issues', labelled(fenced(blog)))

    expect(await reaction.body).toEqual({ content: 'rocket' })
    const { body } = await comment.body
    expect(body).toContain('<!-- devsys:intake -->')
    expect(body).toContain(`task \`${blogId}\` created`)
    const task = await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: blogId })
    expect(task).toMatchObject({ status: 'pending', revision: 1 })
    expect(task?.source).toMatchObject({
      kind: 'issue',
      repo: `${OWNER}/${REPO}`,
      issue: 1,
      requester: 'Codertocat',
      url: 'https://github.com/Codertocat/Hello-World/issues/1',
    })
    expect(task?.spec).toContain(blogId)
    // The accepted task's code generation is queued (and runs in the generate job's tests).
    const [generate] = await devsys().queue.listJobs({ kind: 'generate' })
    expect(generate).toMatchObject({ key: `generate:${OWNER}/${REPO}#${blogId}` })
    expect(generate?.payload).toMatchObject({
      taskId: blogId,
      reason: 'intake',
      repo: {
        fullName: `${OWNER}/${REPO}`,
        cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
      },
      requester: 'Codertocat',
    })
  })

  it('reads a manifest from an issue opened with the label (official issues.opened payload)', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'maintain')
    nockCreateReaction(OWNER, REPO, 1)
    const comment = nockCreateIssueComment(OWNER, REPO, 1)
    const opened = examplePayload('issues', 'opened', (p) => {
      p.issue.body = fenced(blog)
      p.issue.labels = [testLabel('devsys')]
    })
    await devsys().deliver('issues', opened)
    expect((await comment.body).body).toContain(`task \`${blogId}\` created`)
    expect(
      (await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: blogId }))?.source.issue,
    ).toBe(opened.issue.number)
  })

  it('lists every problem with its line in the issue body, edits the same comment next time, and creates nothing', async () => {
    const broken = '{\n  "id": "../etc",\n  "title": "Blog",\n  "stack": "cobol"\n}'
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    const first = nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled(fenced(broken)))

    const { body } = await first.body
    // The fence opens on line 3 of the body, so the manifest's line 2 is the body's line 5.
    expect(body).toMatch(/\| 5:9 \| `\/id` \|/)
    expect(body).toMatch(/\| 7:12 \| `\/stack` \|.*php/)
    expect(body).toContain('Nothing was created')
    expect(await devsys().store.listTasks()).toEqual([])

    // The user fixes the manifest: the same comment is edited in place.
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    const edited = nockUpdateIssueComment(OWNER, REPO, 1001)
    const fixed = examplePayload('issues', 'edited', (p) => {
      p.issue.body = fenced(blog)
      p.issue.labels = [testLabel('devsys')]
      p.changes = { body: { from: fenced(broken) } }
    })
    await devsys().deliver('issues', fixed)
    expect((await edited.body).body).toContain(`task \`${blogId}\` created`)
    expect(await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: blogId })).toBeDefined()
  })

  it('gives two repositories each their own task with the same id; neither is told about the other', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    const first = nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled(fenced(blog)))
    expect((await first.body).body).toContain(`task \`${blogId}\` created`)

    // The same manifest in an issue of another repository (another installation's, say).
    nockGetContent('octo', 'blog', CONFIG, null, null)
    nockGetCollaboratorPermission('octo', 'blog', 'Codertocat', 'write')
    const rocket = nockCreateReaction('octo', 'blog', 3)
    const second = nockCreateIssueComment('octo', 'blog', 3)
    const other = labelled(fenced(blog))
    other.issue.number = 3
    other.issue.html_url = 'https://github.com/octo/blog/issues/3'
    other.repository.name = 'blog'
    other.repository.full_name = 'octo/blog'
    other.repository.owner.login = 'octo'
    other.repository.clone_url = 'https://github.com/octo/blog.git'
    other.installation = { id: 9876, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uOTg3Ng==' }
    await devsys().deliver('issues', other)

    expect(await rocket.body).toEqual({ content: 'rocket' })
    const told = (await second.body).body
    expect(told).toContain(`task \`${blogId}\` created`)
    expect(told).not.toContain(`${OWNER}/${REPO}`)
    expect(told).not.toContain('already used')
    const tasks = await devsys().store.listTasks({ id: blogId })
    expect(tasks.map((t) => [t.repo, t.source.issue]).sort()).toEqual([
      [`${OWNER}/${REPO}`, 1],
      ['octo/blog', 3],
    ])
    const generates = await devsys().queue.listJobs({ kind: 'generate' })
    expect(generates.map((j) => j.key).sort()).toEqual([
      `generate:${OWNER}/${REPO}#${blogId}`,
      `generate:octo/blog#${blogId}`,
    ])
  })

  it('does the work once when GitHub redelivers the same webhook', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    nockCreateIssueComment(OWNER, REPO, 1)
    const payload = labelled(fenced(blog))
    await devsys().deliver('issues', payload, 'same-delivery')
    await devsys().deliver('issues', payload, 'same-delivery')
    expect(await devsys().queue.listJobs({ kind: 'intake-issue' })).toHaveLength(1)
    expect(
      githubRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/comments')),
    ).toHaveLength(1)
  })

  it('reads a manifest file the issue names, from the default branch', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'admin')
    nockGetContent(OWNER, REPO, 'specs/create-blog.json', 'master', blog)
    nockCreateReaction(OWNER, REPO, 1)
    nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver(
      'issues',
      labelled('Build the blog.\n\nmanifest: specs/create-blog.json\n'),
    )
    expect(
      (await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: blogId }))?.source.path,
    ).toBe('specs/create-blog.json')
  })

  it('refuses a file reference that leaves the repository, without reading anything', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    const comment = nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled('manifest: ../../etc/passwd\n'))
    expect((await comment.body).body).toContain('..')
    expect(githubRequests().some((r) => r.path.includes('passwd'))).toBe(false)
  })

  it('ignores issues without the configured label and refuses requesters without permission', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, 'label: build-me\n')
    await devsys().deliver('issues', labelled(fenced(blog)))
    expect(await devsys().store.listTasks()).toEqual([])
    expect(
      githubRequests().filter((r) => r.method !== 'GET' && !r.path.includes('access_tokens')),
    ).toEqual([])

    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'read')
    const comment = nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled(fenced(blog)))
    expect((await comment.body).body).toMatch(/'read' role .* needs 'write'/)
    expect(await devsys().store.listTasks()).toEqual([])
  })

  it('refuses a task id already used by another issue, pointing at the id', async () => {
    await devsys().store.saveTask({
      id: blogId,
      title: 'Blog',
      source: {
        kind: 'issue',
        repo: `${OWNER}/${REPO}`,
        issue: 9,
        key: `issue:${OWNER}/${REPO}#9`,
        requester: 'x',
      },
      manifestText: blog,
      spec: 'spec',
    })
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    const comment = nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled(fenced(blog)))
    const { body } = await comment.body
    expect(body).toContain(`already used by issue #9 in ${OWNER}/${REPO}`)
    expect(body).toMatch(/\| 5:\d+ \| `\/id` \|/)
  })

  it('reports an invalid repo config on the issue with its line', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, 'label: devsys\nrunner: kubernetes\n')
    const comment = nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled(fenced(blog)))
    const { body } = await comment.body
    expect(body).toContain('.github/devsys.yml')
    expect(body).toMatch(/\| 2:\d+ \| `\/runner` \|/)
  })

  it('tells the user when the job fails for good, with no token in the message', async () => {
    const reactions = `/repos/${OWNER}/${REPO}/issues/1/reactions`
    for (let attempt = 0; attempt < 2; attempt += 1) {
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    }
    const failing = mockGitHubScope()
      .post(reactions)
      .times(2)
      .reply(500, { message: 'GitHub is having a bad day' })
    const comment = nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled(fenced(blog)))

    const [job] = await devsys().queue.listJobs()
    expect(job).toMatchObject({ state: 'failed', attempts: 2 })
    const { body } = await comment.body
    expect(body).toContain('DevSys could not process this issue')
    expect(body).toContain('GitHub is having a bad day')
    expect(body).not.toMatch(/ghs_/)
    expect(failing.isDone()).toBe(true)
  })

  it('runs a job queued by the previous version, whose payload has the repository in flat fields', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    const reaction = nockCreateReaction(OWNER, REPO, 1)
    const comment = nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().queue.enqueue({
      kind: 'intake-issue',
      key: `intake:${OWNER}/${REPO}#1`,
      payload: {
        installationId: 1,
        owner: OWNER,
        repo: REPO,
        fullName: `${OWNER}/${REPO}`,
        defaultBranch: 'main',
        cloneUrl: `https://github.com/${OWNER}/${REPO}.git`,
        htmlUrl: `https://github.com/${OWNER}/${REPO}`,
        issue: 1,
        issueUrl: `https://github.com/${OWNER}/${REPO}/issues/1`,
        body: fenced(blog),
        labels: ['devsys'],
        addedLabel: 'devsys',
        requester: 'Codertocat',
        requesterId: 21031067,
      },
    })
    await devsys().queue.drain()

    expect(await reaction.body).toEqual({ content: 'rocket' })
    expect((await comment.body).body).toContain(`task \`${blogId}\` created`)
    expect(
      (await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: blogId }))?.source,
    ).toMatchObject({ kind: 'issue', repo: `${OWNER}/${REPO}`, issue: 1 })
  })
})
