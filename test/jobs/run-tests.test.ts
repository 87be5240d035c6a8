import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RunnerError } from '../../runner/types.js'
import { createRemote, git } from '../helpers/git-remote.js'
import {
  type CheckRunBody,
  githubRequests,
  nockCreateCheckRun,
  nockCreateCommentReaction,
  nockCreateIssueComment,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockUpdateCheckRun,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'
import { examplePayload } from '../helpers/payloads.js'
import { type IntakeHarness, type IntakeOptions, startIntake } from '../intake/harness.js'
import { startHttpReceiver } from '../notify/receivers.js'

const OWNER = 'octo-org'
const REPO = 'hello-world'
const CONFIG = '.github/devsys.yml'
const TASK = 'hello'
const BRANCH = `devsys/${TASK}`

/** A test command for every situation a test run can end in, committed on the task's branch. */
const SCRIPT = `
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
const mode = process.argv[2]
const cases = (n, failing) => Array.from({ length: n }, (_, i) => i < failing
  ? \`<testcase name="case \${i}" classname="Suite" file="src/app.js" line="\${i + 1}" time="0.001"><failure message="expected \${i}">AssertionError: expected \${i}\\n    at src/app.js:\${i + 1}</failure></testcase>\`
  : \`<testcase name="case \${i}" classname="Suite" time="0.001"/>\`).join('')
const write = (xml) => { mkdirSync('build', { recursive: true }); writeFileSync('build/junit.xml', xml) }
const suite = (n, failing) => \`<?xml version="1.0"?><testsuites><testsuite name="Suite" tests="\${n}">\${cases(n, failing)}</testsuite></testsuites>\`
if (mode === 'pass') write(suite(3, 0))
if (mode === 'fail') { write(suite(3, 1)); process.exitCode = 1 }
if (mode === 'many') { write(suite(100000, 120)); process.exitCode = 1 }
if (mode === 'malformed') write('<html><body>502 Bad Gateway</body></html>')
if (mode === 'noreport') { console.error('Fatal: cannot load config'); process.exitCode = 2 }
if (mode === 'hang') setInterval(() => {}, 1000)
if (mode === 'secret') { console.log('token is ' + (process.env.GITHUB_TOKEN ?? 'absent')); write(suite(1, 0)) }
if (mode === 'steal') {
  const read = (f) => { try { return readFileSync(f, 'utf8').replaceAll('\\0', ' ') } catch (e) { return e.code } }
  console.log('parent: ' + read('/proc/' + process.ppid + '/environ'))
  for (const pid of readdirSync('/proc').filter((n) => /^\\d+$/.test(n))) console.log('environ ' + pid + ': ' + read('/proc/' + pid + '/environ'))
  for (const file of process.argv.slice(3)) console.log(file + ': ' + read(file))
  write(suite(1, 0))
}
`

let remote: { root: string; bare: string }
let tmp: string
let devsys: IntakeHarness
const github = useGitHubMock()

async function setUp(
  mode: string,
  opts: IntakeOptions & { timeoutSeconds?: number; args?: string[]; issue?: number } = {},
) {
  devsys = await startIntake({ tmpDir: tmp, maxAttempts: 2, jobs: ['run-tests'], ...opts })
  const manifest = {
    id: TASK,
    title: 'Hello',
    stack: 'static',
    stories: [{ as: 'visitor', want: 'a greeting' }],
    acceptance: [{ path: '/' }],
    tests: {
      command: ['node', 'tests/run.mjs', mode, ...(opts.args ?? [])],
      junit: 'build/junit.xml',
      timeoutSeconds: opts.timeoutSeconds ?? 60,
    },
  }
  await devsys.store.saveTask({
    id: TASK,
    title: 'Hello',
    source:
      opts.issue === undefined
        ? { kind: 'api', repo: `${OWNER}/${REPO}`, key: 'api', requester: 'mona' }
        : {
            kind: 'issue',
            repo: `${OWNER}/${REPO}`,
            issue: opts.issue,
            key: `issue:${OWNER}/${REPO}#${opts.issue}`,
            requester: 'mona',
            installationId: 1,
          },
    manifestText: JSON.stringify(manifest),
    spec: 'spec',
  })
  await devsys.store.setTaskCode(
    { repo: `${OWNER}/${REPO}`, id: TASK },
    {
      branch: BRANCH,
      headSha: sha(),
      pullRequest: { number: 5, url: 'https://github.com/octo-org/hello-world/pull/5' },
    },
    'test',
  )
}

function sha(): string {
  return git(remote.bare, 'rev-parse', BRANCH)
}

/** The official check_run.rerequested payload, for DevSys's tests check of the task. */
function rerequested() {
  return examplePayload('check_run', 'rerequested', (p) => {
    p.check_run.name = 'DevSys / tests'
    p.check_run.external_id = TASK
    p.check_run.head_sha = sha()
    p.repository.name = REPO
    p.repository.full_name = `${OWNER}/${REPO}`
    p.repository.owner.login = OWNER
    p.repository.clone_url = remote.bare
    p.repository.default_branch = 'main'
  })
}

/** The check run's life on GitHub: created queued, in progress, then completed (maybe in batches). */
function nockCheckRun(batches = 1): {
  created: Promise<CheckRunBody>
  updates: Array<Promise<CheckRunBody>>
} {
  const created = nockCreateCheckRun(OWNER, REPO, 77).body
  const updates = Array.from(
    { length: batches + 1 },
    () => nockUpdateCheckRun(OWNER, REPO, 77).body,
  )
  return { created, updates }
}

beforeEach(() => {
  remote = createRemote()
  tmp = mkdtempSync(join(tmpdir(), 'devsys-ws-'))
  const work = join(remote.root, 'work')
  git(remote.root, 'clone', '-q', remote.bare, work)
  git(work, 'checkout', '-q', '-b', BRANCH)
  mkdirSync(join(work, 'tests'))
  writeFileSync(join(work, 'tests', 'run.mjs'), SCRIPT)
  git(work, 'add', '-A')
  git(work, 'commit', '-q', '-m', 'tests')
  git(work, 'push', '-q', 'origin', BRANCH)
})
afterEach(async () => {
  await devsys?.close()
  rmSync(remote.root, { recursive: true, force: true })
  rmSync(tmp, { recursive: true, force: true })
})

describe('run-tests job', () => {
  it('a push to devsys/<id> in another repository neither runs nor reports this repository’s task', async () => {
    await setUp('pass')
    const push = examplePayload('pull_request', 'synchronize', (p) => {
      p.pull_request.head.ref = BRANCH
      p.pull_request.head.sha = sha()
      p.repository.name = 'other'
      p.repository.full_name = 'evil/other'
      p.repository.owner.login = 'evil'
      p.repository.clone_url = remote.bare
      if (p.pull_request.head.repo) p.pull_request.head.repo.full_name = 'evil/other'
      p.sender = { ...p.sender, login: 'eve', type: 'User' }
    })
    await devsys.deliver('pull_request', push)

    const [job] = await devsys.queue.listJobs({ kind: 'run-tests' })
    expect(job?.payload).toMatchObject({ taskId: TASK, repo: { fullName: 'evil/other' } })
    expect(job?.outcome).toMatchObject({ status: 'skipped', reason: 'task-gone' })
    // No check run, no comment, no ready-for-review: GitHub heard nothing.
    expect(githubRequests()).toEqual([])
    expect(await devsys.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: TASK })).toBeUndefined()
  })

  it('when passing tests take the PR out of draft, the task’s issue comment says it is ready for review', async () => {
    await setUp('pass', { issue: 1 })
    // The issue's comment from when the draft PR was opened ("draft until its tests pass").
    await devsys.store.setCommentId(`${OWNER}/${REPO}`, 1, 'intake', 900)
    nockCheckRun()
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockCreateIssueComment(OWNER, REPO, 5)
    github()
      .get(`/repos/${OWNER}/${REPO}/pulls/5`)
      .reply(200, { number: 5, draft: true, node_id: 'PR_node5' })
    github()
      .post('/graphql')
      .reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } })
    const issue = nockUpdateIssueComment(OWNER, REPO, 900)

    await devsys.deliver('check_run', rerequested())

    const text = (await issue.body).body
    expect(text).toContain(`DevSys task \`${TASK}\`: pull request #5`)
    expect(text).toContain('(ready for review)')
    expect(text).not.toContain('draft until its tests pass')
  })

  it('re-run on GitHub: queued → in progress → success, with a summary table, stored and answered by the API', async () => {
    await setUp('pass')
    const { created, updates } = nockCheckRun()
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    const status = nockCreateIssueComment(OWNER, REPO, 5)
    // Draft PRs are marked ready once their tests pass.
    github()
      .get(`/repos/${OWNER}/${REPO}/pulls/5`)
      .reply(200, { number: 5, draft: true, node_id: 'PR_node5' })
    const graphql = github()
      .post(
        '/graphql',
        (body: { query: string; variables: { id: string } }) =>
          body.query.includes('markPullRequestReadyForReview') && body.variables.id === 'PR_node5',
      )
      .reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } })

    await devsys.deliver('check_run', rerequested())

    expect(await created).toMatchObject({
      name: 'DevSys / tests',
      status: 'queued',
      head_sha: sha(),
      external_id: TASK,
    })
    expect(await updates[0]).toMatchObject({ status: 'in_progress' })
    const done = await updates[1]
    expect(done).toMatchObject({
      status: 'completed',
      conclusion: 'success',
      output: { title: '3 passed, 0 skipped' },
    })
    expect(done?.output?.summary).toMatch(/\| *3 *\|/)
    expect((await status.body).body).toContain('passed')
    expect(graphql.isDone()).toBe(true)
    const run = await devsys.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: TASK })
    expect(run).toMatchObject({
      state: 'completed',
      conclusion: 'success',
      headSha: sha(),
      checkRunId: 77,
      runner: 'local',
      summary: { tests: 3, passed: 3, failed: 0 },
    })
    expect(readdirSync(tmp)).toEqual([])
  })

  it('fails with an annotation on the failing line', async () => {
    await setUp('fail')
    const { updates } = nockCheckRun()
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockCreateIssueComment(OWNER, REPO, 5)
    await devsys.deliver('check_run', rerequested())
    const done = await updates[1]
    expect(done).toMatchObject({ conclusion: 'failure', output: { title: '1 of 3 tests failed' } })
    expect(done?.output?.annotations).toEqual([
      expect.objectContaining({
        path: 'src/app.js',
        start_line: 1,
        end_line: 1,
        annotation_level: 'failure',
      }),
    ])
    expect(done?.output?.summary).toContain('expected 0')
  })

  it('a completed run is told once to the subscribed webhook, as tests.failed with its counts', async () => {
    const hook = await startHttpReceiver()
    const secret = `whsec_${Buffer.from('devsys-notify-test-secret-32-byt').toString('base64')}`
    const subscribed =
      'notifications:\n  - events: [tests.passed, tests.failed]\n    destinations: [webhook]\n'
    try {
      await setUp('fail', {
        jobs: ['run-tests', 'notify'],
        env: {
          NOTIFY_WEBHOOK_URL: hook.url,
          NOTIFY_WEBHOOK_SECRET: secret,
          NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
        },
      })
      nockCheckRun()
      // Read by the run-tests job, then by the notify job for the subscriptions.
      nockGetContent(OWNER, REPO, CONFIG, null, subscribed)
      nockGetContent(OWNER, REPO, CONFIG, null, subscribed)
      nockCreateIssueComment(OWNER, REPO, 5)
      await devsys.deliver('check_run', rerequested())
      expect(hook.received).toHaveLength(1)
      const sent = hook.received[0]
      const run = await devsys.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: TASK })
      expect(
        new Webhook(secret).verify(sent?.body ?? '', sent?.headers as Record<string, string>),
      ).toMatchObject({
        type: 'tests.failed',
        data: {
          id: `tests.failed:${OWNER}/${REPO}:run-${run?.id}`,
          task: TASK,
          url: 'https://github.com/octo-org/hello-world/pull/5',
          details: { conclusion: 'failure', tests: 3, failed: 1, commit: sha() },
        },
      })
    } finally {
      await hook.close()
    }
  })

  it('a report with 100,000 cases: summary within GitHub’s limit, failures first, annotations 50 per request', async () => {
    await setUp('many')
    const { updates } = nockCheckRun(3)
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockCreateIssueComment(OWNER, REPO, 5)
    await devsys.deliver('check_run', rerequested())
    const [first, second, third] = [await updates[1], await updates[2], await updates[3]]
    expect(first).toMatchObject({
      conclusion: 'failure',
      output: { title: '120 of 100000 tests failed' },
    })
    expect(first?.output?.summary?.length).toBeLessThanOrEqual(65_535)
    expect(first?.output?.annotations).toHaveLength(50)
    expect(second?.output?.annotations).toHaveLength(50)
    expect(third?.output?.annotations).toHaveLength(20)
  })

  it.each([
    { mode: 'malformed', conclusion: 'failure', title: 'No test report', reason: /unusable/ },
    {
      mode: 'noreport',
      conclusion: 'failure',
      title: 'No test report',
      reason: /wrote no JUnit report at build\/junit.xml \(exit code 2\)/,
    },
    {
      mode: 'hang',
      conclusion: 'timed_out',
      title: 'Tests timed out',
      reason: /did not finish within 2 s/,
    },
  ])(
    '$mode: the check run completes as $conclusion with the reason',
    async ({ mode, conclusion, title, reason }) => {
      await setUp(mode, { timeoutSeconds: 2 })
      const { updates } = nockCheckRun()
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockCreateIssueComment(OWNER, REPO, 5)
      await devsys.deliver('check_run', rerequested())
      const done = await updates[1]
      expect(done).toMatchObject({ status: 'completed', conclusion, output: { title } })
      expect(done?.output?.summary).toMatch(reason)
      expect(
        (await devsys.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: TASK }))?.conclusion,
      ).toBe(conclusion)
    },
  )

  it('/test on the PR: checks permission, reacts, queues the check run on the PR head and runs it', async () => {
    await setUp('pass', { jobs: ['pr-command', 'run-tests'] })
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    github()
      .get(`/repos/${OWNER}/${REPO}/pulls/5`)
      .reply(200, {
        number: 5,
        draft: false,
        node_id: 'PR_node5',
        head: { sha: sha(), ref: BRANCH, repo: { full_name: `${OWNER}/${REPO}` } },
      })
    const eyes = nockCreateCommentReaction(OWNER, REPO, 492700400)
    const { created, updates } = nockCheckRun()
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockCreateIssueComment(OWNER, REPO, 5)
    github()
      .get(`/repos/${OWNER}/${REPO}/pulls/5`)
      .reply(200, { number: 5, draft: false, node_id: 'PR_node5' })

    await devsys.deliver(
      'issue_comment',
      examplePayload('issue_comment', 'created', (p) => {
        p.issue.number = 5
        p.issue.pull_request = {
          url: '',
          html_url: '',
          diff_url: '',
          patch_url: '',
          merged_at: null,
        }
        p.comment.body = '/test'
        p.repository.name = REPO
        p.repository.full_name = `${OWNER}/${REPO}`
        p.repository.owner.login = OWNER
        p.repository.clone_url = remote.bare
      }),
    )

    expect(await eyes.body).toEqual({ content: 'eyes' })
    expect(await created).toMatchObject({ status: 'queued', head_sha: sha(), external_id: TASK })
    expect(await updates[1]).toMatchObject({ status: 'completed', conclusion: 'success' })
  })

  it('a person pushing to the task’s PR (pull_request.synchronize) gets the new head tested', async () => {
    await setUp('pass')
    const { created, updates } = nockCheckRun()
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockCreateIssueComment(OWNER, REPO, 5)
    github()
      .get(`/repos/${OWNER}/${REPO}/pulls/5`)
      .reply(200, { number: 5, draft: false, node_id: 'PR_node5' })
    await devsys.deliver(
      'pull_request',
      examplePayload('pull_request', 'synchronize', (p) => {
        p.pull_request.head.ref = BRANCH
        p.pull_request.head.sha = sha()
        p.repository.name = REPO
        p.repository.full_name = `${OWNER}/${REPO}`
        p.repository.owner.login = OWNER
        p.repository.clone_url = remote.bare
        if (p.pull_request.head.repo) p.pull_request.head.repo.full_name = `${OWNER}/${REPO}`
      }),
    )
    expect(await created).toMatchObject({ head_sha: sha(), external_id: TASK })
    expect(await updates[1]).toMatchObject({ conclusion: 'success' })
  })

  it('gives the tests no secrets from the DevSys process', async () => {
    process.env.GITHUB_TOKEN = 'ghs_notforthetests0000000000000000000000'
    try {
      await setUp('secret')
      const { updates } = nockCheckRun()
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockCreateIssueComment(OWNER, REPO, 5)
      github()
        .get(`/repos/${OWNER}/${REPO}/pulls/5`)
        .reply(200, { number: 5, draft: false, node_id: 'PR_node5' })
      await devsys.deliver('check_run', rerequested())
      const done = await updates[1]
      expect(done?.output?.text).toContain('token is absent')
    } finally {
      delete process.env.GITHUB_TOKEN
    }
  })

  it("keeps a hostile test command from DevSys's secrets, store and key (sandbox, not redaction)", async () => {
    // Not registered for redaction: only the sandbox stands between the tests and these.
    const secret = `whsec-${Date.now()}-not-for-tests`
    process.env.WEBHOOK_SECRET = secret
    const dataDir = await mkdtemp(join(tmpdir(), 'devsys-steal-'))
    const key = join(dataDir, 'app.pem')
    await writeFile(key, 'PRIVATE-KEY-CANARY', { mode: 0o600 })
    try {
      await setUp('steal', { dataDir, args: [key, join(dataDir, 'devsys.sqlite')] })
      const { updates } = nockCheckRun()
      nockGetContent(OWNER, REPO, CONFIG, null, null)
      nockCreateIssueComment(OWNER, REPO, 5)
      github()
        .get(`/repos/${OWNER}/${REPO}/pulls/5`)
        .reply(200, { number: 5, draft: false, node_id: 'PR_node5' })
      await devsys.deliver('check_run', rerequested())
      const text = (await updates[1])?.output?.text ?? ''
      expect(text).toContain(`${key}: ENOENT`)
      expect(text).toContain(`${join(dataDir, 'devsys.sqlite')}: ENOENT`)
      expect(text).not.toContain(secret)
      expect(text).not.toContain('PRIVATE-KEY-CANARY')
      expect(text).not.toContain('WEBHOOK_SECRET')
    } finally {
      delete process.env.WEBHOOK_SECRET
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('a runner that is down: retried, then the check run completes with the reason', async () => {
    await setUp('pass', {
      runner: async () => ({
        kind: 'remote-ssh',
        run: async () => {
          throw new RunnerError(
            'unavailable',
            'remote-ssh',
            'cannot reach 127.0.0.1:1: connection refused',
          )
        },
      }),
    })
    nockCreateCheckRun(OWNER, REPO, 77)
    nockUpdateCheckRun(OWNER, REPO, 77) // in progress (first attempt)
    nockUpdateCheckRun(OWNER, REPO, 77) // in progress (second attempt)
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    const done = nockUpdateCheckRun(OWNER, REPO, 77).body
    await devsys.deliver('check_run', rerequested())
    expect(await done).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: { title: 'DevSys could not run the tests' },
    })
    expect((await done).output?.summary).toContain('connection refused')
    expect((await devsys.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: TASK }))?.state).toBe(
      'completed',
    )
  })
})
