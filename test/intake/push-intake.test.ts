import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  githubRequests,
  nockCreateCheckRun,
  nockGetContent,
  nockUpdateCheckRun,
  useGitHubMock,
} from '../helpers/github.js'
import { examplePayload } from '../helpers/payloads.js'
import { useIntake } from './harness.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const CONFIG = '.github/devsys.yml'
const blog = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const blogId = (JSON.parse(blog) as { id: string }).id

function pushOf(files: { added?: string[]; modified?: string[]; removed?: string[] }) {
  return examplePayload('push', undefined, (p) => {
    const template = p.commits[0] ?? p.head_commit
    p.ref = 'refs/heads/master'
    p.deleted = false
    p.commits = [
      {
        ...(template as (typeof p.commits)[number]),
        added: files.added ?? [],
        modified: files.modified ?? [],
        removed: files.removed ?? [],
      },
    ]
    p.after = 'c0ffee'.padEnd(40, '0')
  })
}
const SHA = 'c0ffee'.padEnd(40, '0')

const github = useGitHubMock()
// Intake only: the generation it queues is tested in test/jobs/generate-task.test.ts.
const devsys = useIntake({ jobs: ['intake-push'] })

describe('push intake', () => {
  it('validates only the changed manifests, from the pushed commit, and reports a passing check run', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetContent(OWNER, REPO, 'specs/create-blog.json', SHA, blog)
    const created = nockCreateCheckRun(OWNER, REPO, 77)
    const completed = nockUpdateCheckRun(OWNER, REPO, 77)

    await devsys().deliver(
      'push',
      pushOf({ added: ['specs/create-blog.json', 'README.md', 'src/index.php'] }),
    )

    expect(await created.body).toMatchObject({
      name: 'DevSys / manifest',
      head_sha: SHA,
      status: 'in_progress',
    })
    const done = await completed.body
    expect(done).toMatchObject({ status: 'completed', conclusion: 'success' })
    expect(done.output?.summary).toContain('`specs/create-blog.json` | created')
    const task = await devsys().store.getTask({ repo: `${OWNER}/${REPO}`, id: blogId })
    expect(task?.source).toMatchObject({
      kind: 'push',
      commit: SHA,
      path: 'specs/create-blog.json',
      ref: 'refs/heads/master',
    })
    // README.md and src/index.php are not manifests: never read.
    expect(githubRequests().some((r) => r.path.includes('README'))).toBe(false)
  })

  it('fails the check run with an annotation on each problem line of the manifest file', async () => {
    const broken = ['id: "Bad Id!"', 'title: Blog', 'stack: cobol', 'stories: []', ''].join('\n')
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetContent(OWNER, REPO, '.devsys/blog.yml', SHA, broken)
    nockCreateCheckRun(OWNER, REPO, 78)
    const completed = nockUpdateCheckRun(OWNER, REPO, 78)

    await devsys().deliver('push', pushOf({ modified: ['.devsys/blog.yml'] }))

    const done = await completed.body
    expect(done).toMatchObject({ conclusion: 'failure' })
    const annotations = done.output?.annotations as Array<{
      path: string
      start_line: number
      title: string
    }>
    const at = (pointer: string) => annotations.find((a) => a.title === pointer)
    expect(at('/id')).toMatchObject({ path: '.devsys/blog.yml', start_line: 1 })
    expect(at('/stack')).toMatchObject({ start_line: 3 })
    expect(at('/stories')).toMatchObject({ start_line: 4 })
    expect(await devsys().store.listTasks()).toEqual([])
  })

  it('sends more than 50 annotations in batches of 50', async () => {
    const unknown = Array.from({ length: 60 }, (_, i) => `extra${i}: 1`)
    const broken = [
      ...JSON.stringify(JSON.parse(blog), null, 2).split('\n').slice(0, -1),
      ...unknown.map((l) => `,"${l.replace(': ', '": ')}`),
      '}',
    ].join('\n')
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetContent(OWNER, REPO, 'specs/blog.json', SHA, broken)
    nockCreateCheckRun(OWNER, REPO, 79)
    const first = nockUpdateCheckRun(OWNER, REPO, 79)
    const second = nockUpdateCheckRun(OWNER, REPO, 79)

    await devsys().deliver('push', pushOf({ added: ['specs/blog.json'] }))

    const batch1 = await first.body
    const batch2 = await second.body
    expect(batch1.conclusion).toBe('failure')
    expect(batch1.output?.annotations).toHaveLength(50)
    expect(batch2.output?.annotations).toHaveLength(10)
  })

  it('refuses a manifest over 1 MiB without decoding it', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    github()
      .get((uri) =>
        decodeURIComponent(uri).startsWith(`/repos/${OWNER}/${REPO}/contents/specs/huge.json`),
      )
      .query(true)
      .reply(200, {
        type: 'file',
        encoding: 'none',
        size: 2 * 1024 * 1024,
        name: 'huge.json',
        path: 'specs/huge.json',
        content: '',
        sha: 'b'.repeat(40),
        url: 'u',
        git_url: null,
        html_url: null,
        download_url: null,
        _links: { self: 'u', git: null, html: null },
      })
    nockCreateCheckRun(OWNER, REPO, 80)
    const completed = nockUpdateCheckRun(OWNER, REPO, 80)
    await devsys().deliver('push', pushOf({ added: ['specs/huge.json'] }))
    const done = await completed.body
    expect(done.conclusion).toBe('failure')
    expect(done.output?.summary).toContain('2097152 bytes, over the 1048576-byte limit')
  })

  it('does nothing visible for a push that changes no manifest', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    await devsys().deliver('push', pushOf({ modified: ['README.md'] }))
    expect(
      githubRequests().filter((r) => r.method !== 'GET' && !r.path.includes('access_tokens')),
    ).toEqual([])
    const [job] = await devsys().queue.listJobs()
    expect(job?.outcome).toMatchObject({ status: 'skipped', reason: 'no-manifests' })
  })

  it('does not check the bookkeeping files a merged DevSys PR adds to the default branch', async () => {
    // The merge of a DevSys PR: generated code plus DevSys's own records, which the default
    // globs (.devsys/*.yml, .devsys/*.json) would otherwise take for manifests.
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    await devsys().deliver(
      'push',
      pushOf({
        added: [
          '.devsys/task.yml',
          '.devsys/generated.json',
          '.devsys/feedback.md',
          'public/index.php',
          'README.md',
        ],
      }),
    )
    expect(githubRequests().filter((r) => r.path.includes('/contents/.devsys'))).toEqual([])
    expect(githubRequests().filter((r) => r.path.includes('/check-runs'))).toEqual([])
    const [job] = await devsys().queue.listJobs()
    expect(job?.outcome).toMatchObject({ status: 'skipped', reason: 'no-manifests' })
  })

  it('skips bookkeeping files even when the repo config globs match them, and checks the manifests beside them', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, 'manifests: [".devsys/**"]\n')
    nockGetContent(OWNER, REPO, '.devsys/blog.yml', SHA, blog)
    nockCreateCheckRun(OWNER, REPO, 82)
    const completed = nockUpdateCheckRun(OWNER, REPO, 82)

    await devsys().deliver(
      'push',
      pushOf({ added: ['.devsys/task.yml', '.devsys/generated.json', '.devsys/blog.yml'] }),
    )

    const done = await completed.body
    expect(done).toMatchObject({ conclusion: 'success', output: { title: '1 manifest accepted' } })
    expect(done.output?.summary).toContain('`.devsys/blog.yml` | created')
    expect(done.output?.summary).not.toContain('task.yml')
  })

  it('completes the check run with the reason when the job fails for good', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    // Only the first attempt creates the check run; the retry and the failure report find it.
    const created = nockCreateCheckRun(OWNER, REPO, 81)
    github()
      .get((uri) =>
        decodeURIComponent(uri).startsWith(`/repos/${OWNER}/${REPO}/contents/specs/blog.json`),
      )
      .query(true)
      .times(2)
      .reply(502, { message: 'Server Error' })
    github()
      .get(`/repos/${OWNER}/${REPO}/commits/${SHA}/check-runs`)
      .query({ check_name: 'DevSys / manifest', filter: 'latest' })
      .times(2)
      .reply(200, { total_count: 1, check_runs: [{ id: 81, status: 'in_progress' }] })
    const completed = nockUpdateCheckRun(OWNER, REPO, 81)

    await devsys().deliver('push', pushOf({ added: ['specs/blog.json'] }))

    expect((await created.body).status).toBe('in_progress')
    const done = await completed.body
    expect(done).toMatchObject({ status: 'completed', conclusion: 'failure' })
    expect(done.output?.summary).toContain('Server Error')
    expect((await devsys().queue.listJobs())[0]?.state).toBe('failed')
  })
})
