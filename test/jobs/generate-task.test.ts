import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRemote, filesOn, git, hasBranch } from '../helpers/git-remote.js'
import {
  githubRequests,
  nockBotIdentity,
  nockCreateCheckRun,
  nockCreateCommentReaction,
  nockCreateIssueComment,
  nockCreatePull,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockListPulls,
  nockUpdateIssueComment,
  nockUpdatePull,
  TEST_INSTALLATION_TOKEN,
  useGitHubMock,
} from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'
import { requireTool } from '../helpers/require-tool.js'
import { type IntakeHarness, startIntake, testLabel } from '../intake/harness.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const CONFIG = '.github/devsys.yml'
const blogText = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const BRANCH = 'devsys/create-blog'
const hasPhp =
  requireTool('phpunit', 'the generated blog is checked with its own PHPUnit suite') &&
  requireTool('php', 'the generated blog is served with php -S')

let remote: { root: string; bare: string }
let tmp: string
let devsys: IntakeHarness
useGitHubMock()

beforeEach(async () => {
  remote = createRemote()
  tmp = mkdtempSync(join(tmpdir(), 'devsys-ws-'))
  // Up to the pushed branch: the tests it queues run in test/jobs/run-tests.test.ts.
  devsys = await startIntake({
    tmpDir: tmp,
    maxAttempts: 2,
    jobs: ['intake-issue', 'generate', 'pr-command'],
  })
})
afterEach(async () => {
  await devsys.close()
  rmSync(remote.root, { recursive: true, force: true })
  rmSync(tmp, { recursive: true, force: true })
})

function labelledIssue(manifest = blogText) {
  return examplePayload('issues', 'labeled', (p) => {
    p.issue.body = `Build it.\n\n\`\`\`json\n${manifest}\n\`\`\`\n`
    p.label = testLabel('devsys')
    p.issue.labels = [testLabel('devsys')]
    p.repository.clone_url = remote.bare
    p.repository.default_branch = 'main'
  })
}

/** Intake, then a first generation: bot identity, a new PR #5, comments, the queued tests check. */
function mockFirstGeneration() {
  mockIntake()
  nockGetContent(OWNER, REPO, CONFIG, null, null)
  nockBotIdentity()
  nockListPulls(OWNER, REPO, BRANCH)
  return {
    pr: nockCreatePull(OWNER, REPO, 5),
    status: nockCreateIssueComment(OWNER, REPO, 5, { id: 2001 }),
    issueLink: nockUpdateIssueComment(OWNER, REPO, 1001),
    queued: nockCreateCheckRun(OWNER, REPO),
  }
}

/** Intake with `config`, then a generation the generator refuses: the reason lands on the issue. */
function mockRefusedGeneration(config: string) {
  mockIntake(config)
  nockGetContent(OWNER, REPO, CONFIG, null, config)
  nockBotIdentity()
  return nockUpdateIssueComment(OWNER, REPO, 1001)
}

function mockIntake(configYaml: string | null = null) {
  nockGetContent(OWNER, REPO, CONFIG, null, configYaml)
  nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
  nockCreateReaction(OWNER, REPO, 1)
  nockCreateIssueComment(OWNER, REPO, 1)
}

describe('generate job', () => {
  it('generates the blog on devsys/<id>, opens a draft PR that closes the issue, and links it from the issue', async () => {
    const { pr, status, issueLink, queued } = mockFirstGeneration()

    await devsys.deliver('issues', labelledIssue())

    // The branch in the "GitHub" repository: generated files, authored by the bot, crediting the requester.
    const files = filesOn(remote.bare, BRANCH)
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'public/index.php',
        'public/post.php',
        'data/posts.json',
        'phpunit.xml',
      ]),
    )
    expect(git(remote.bare, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', BRANCH)).toBe(
      'devsys[bot] <41898282+devsys[bot]@users.noreply.github.com>|devsys[bot] <41898282+devsys[bot]@users.noreply.github.com>',
    )
    expect(
      git(remote.bare, 'log', '-1', '--format=%(trailers:key=Co-authored-by,valueonly)', BRANCH),
    ).toBe('Codertocat <21031067+Codertocat@users.noreply.github.com>')
    expect(git(remote.bare, 'rev-parse', 'main')).toBe(git(remote.bare, 'rev-parse', `${BRANCH}~1`))

    const opened = await pr.body
    expect(opened).toMatchObject({
      head: BRANCH,
      base: 'main',
      draft: true,
      title: 'DevSys: A small PHP blog',
    })
    expect(opened.body).toContain('Closes #1.')
    expect(opened.body).toContain('`public/index.php`')
    expect((await status.body).body).toContain('pushed')
    expect((await issueLink.body).body).toContain('pull request #5')
    const task = await devsys.store.getTask({ repo: `${OWNER}/${REPO}`, id: 'create-blog' })
    expect(task?.code).toEqual({
      branch: BRANCH,
      headSha: git(remote.bare, 'rev-parse', BRANCH),
      pullRequest: { number: 5, url: 'https://github.com/Codertocat/Hello-World/pull/5' },
    })
    expect(task?.status).toBe('in_progress')
    // The tests of the pushed commit are queued, visibly: a queued check run on that commit.
    expect(await queued.body).toMatchObject({
      name: 'DevSys / tests',
      status: 'queued',
      head_sha: git(remote.bare, 'rev-parse', BRANCH),
      external_id: 'create-blog',
    })
    expect((await devsys.queue.listJobs({ kind: 'run-tests' }))[0]?.payload).toMatchObject({
      taskId: 'create-blog',
      checkRunId: 4242,
      headSha: git(remote.bare, 'rev-parse', BRANCH),
    })
    // No temporary clone is left behind, and the token is nowhere on disk or in the store.
    expect(readdirSync(tmp)).toEqual([])
    const stored = JSON.stringify([
      await devsys.queue.listJobs(),
      await devsys.store.listTasks(),
      await devsys.store.listAudit(),
    ])
    expect(stored).not.toContain(TEST_INSTALLATION_TOKEN)
  })

  it.skipIf(!hasPhp)(
    'pushes a blog whose own PHPUnit suite passes and whose pages answer under php -S',
    async () => {
      mockFirstGeneration()
      await devsys.deliver('issues', labelledIssue())

      const checkout = join(remote.root, 'checkout')
      git(remote.root, 'clone', '-q', '-b', BRANCH, remote.bare, checkout)
      const phpunit = await promisify(execFile)('phpunit', ['--log-junit', 'build/junit.xml'], {
        cwd: checkout,
      })
      expect(phpunit.stdout).toMatch(/OK \(\d+ tests?/)
      const server = await servePhp(join(checkout, 'public'))
      try {
        const manifest = JSON.parse(blogText) as {
          acceptance: Array<{ path: string; status: number; bodyContains?: string[] }>
        }
        for (const check of manifest.acceptance) {
          const response = await fetchText(`${server.url}${check.path}`)
          expect(response.status, check.path).toBe(check.status)
          for (const text of check.bodyContains ?? [])
            expect(response.body, check.path).toContain(text)
        }
      } finally {
        server.stop()
      }
    },
  )

  it('/revise on the PR regenerates with the feedback as a new commit on the same branch and PR', async () => {
    mockFirstGeneration()
    await devsys.deliver('issues', labelledIssue())
    const first = git(remote.bare, 'rev-parse', BRANCH)

    // The command: checked, acknowledged with 👀, then the task's generate job runs.
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    const eyes = nockCreateCommentReaction(OWNER, REPO, 492700400)
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    const updated = nockUpdatePull(OWNER, REPO, 5)
    const status = nockUpdateIssueComment(OWNER, REPO, 2001)
    nockUpdateIssueComment(OWNER, REPO, 1001)
    nockCreateCheckRun(OWNER, REPO, 4243)
    const done = nockCreateCommentReaction(OWNER, REPO, 492700400)
    await devsys.deliver('issue_comment', revise('/revise Put the newest post first, please'))

    expect(await eyes.body).toEqual({ content: 'eyes' })
    expect(await done.body).toEqual({ content: 'rocket' })
    const second = git(remote.bare, 'rev-parse', BRANCH)
    expect(second).not.toBe(first)
    expect(git(remote.bare, 'rev-parse', `${BRANCH}~1`)).toBe(first)
    expect(git(remote.bare, 'log', '-1', '--format=%s', BRANCH)).toBe(
      'Revise create-blog: Put the newest post first, please',
    )
    expect(git(remote.bare, 'show', `${BRANCH}:.devsys/feedback.md`)).toContain(
      'Put the newest post first, please',
    )
    expect((await updated.body).body).toContain('Closes #1.')
    expect((await status.body).body).toContain('Put the newest post first, please')
    // Still one PR: the revision updated #5, it never listed or created another.
    expect(
      githubRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/pulls')),
    ).toHaveLength(1)
  })

  it('refuses /revise from someone without write permission', async () => {
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'read')
    const reaction = nockCreateCommentReaction(OWNER, REPO, 492700400)
    const answer = nockCreateIssueComment(OWNER, REPO, 5)
    await devsys.deliver('issue_comment', revise('/revise do something'))
    expect(await reaction.body).toEqual({ content: 'confused' })
    expect((await answer.body).body).toMatch(/'read' role .* needs 'write'/)
    expect(await devsys.queue.listJobs({ kind: 'generate' })).toEqual([])
  })

  it('fails with a clear message and pushes nothing when the generator fails', async () => {
    const config =
      'generator:\n  kind: command\n  command: ["node", "-e", "console.log(\'half done\'); process.exit(3)"]\n'
    const failure = mockRefusedGeneration(config)
    await devsys.deliver('issues', labelledIssue())
    const { body } = await failure.body
    expect(body).toContain('could not generate `create-blog`')
    expect(body).toContain('exit')
    expect(body).toContain('half done')
    expect(body).toContain('Nothing was pushed')
    expect(hasBranch(remote.bare, BRANCH)).toBe(false)
    expect(readdirSync(tmp)).toEqual([])
  })

  it('refuses an agent that writes outside its work tree, through the real workspace layout', async () => {
    const config = `generator:\n  kind: command\n  command: ["node", "-e", "require('fs').writeFileSync('../outside.txt', 'x')"]\n`
    const failure = mockRefusedGeneration(config)
    await devsys.deliver('issues', labelledIssue())
    const { body } = await failure.body
    expect(body).toContain('outside.txt')
    expect(body).toContain('Nothing was pushed')
    expect(hasBranch(remote.bare, BRANCH)).toBe(false)
    expect(readdirSync(tmp)).toEqual([])
  })

  it.each([
    {
      name: 'a generator that runs past its time limit',
      config:
        'generator:\n  kind: command\n  timeoutSeconds: 1\n  command: ["node", "-e", "setTimeout(() => {}, 60000)"]\n',
      message: /did not finish within 1 s/,
    },
    {
      name: 'a symlink pointing out of the work tree',
      config: `generator:\n  kind: command\n  command: ["node", "-e", "require('fs').symlinkSync('/etc', 'etc-link')"]\n`,
      message: /etc-link/,
    },
    {
      name: 'a change under a forbidden path',
      config: `generator:\n  kind: command\n  command: ["node", "-e", "const fs = require('fs'); fs.mkdirSync('.github/workflows', { recursive: true }); fs.writeFileSync('.github/workflows/x.yml', 'on: push')"]\n`,
      message: /\.github\/workflows\/x\.yml/,
    },
    {
      name: 'output over the size limit',
      config: `generator:\n  kind: command\n  command: ["node", "-e", "require('fs').writeFileSync('big.bin', Buffer.alloc(21 * 1024 * 1024))"]\n`,
      message: /limit/i,
    },
  ])(
    'fails the job on $name, with the reason on the issue and nothing pushed',
    async ({ config, message }) => {
      const failure = mockRefusedGeneration(config)
      await devsys.deliver('issues', labelledIssue())
      const { body } = await failure.body
      expect(body).toContain('could not generate `create-blog`')
      expect(body).toMatch(message)
      expect(body).toContain('Nothing was pushed')
      expect(hasBranch(remote.bare, BRANCH)).toBe(false)
      expect((await devsys.queue.listJobs({ kind: 'generate' }))[0]).toMatchObject({
        state: 'done',
        attempts: 1,
      })
      expect(readdirSync(tmp)).toEqual([])
    },
  )

  it('reports a rejected push on the issue after retrying, leaving the remote untouched', async () => {
    // A server-side hook that refuses DevSys's branches, as a protected branch rule would.
    const hook = join(remote.bare, 'hooks', 'pre-receive')
    writeFileSync(hook, '#!/bin/sh\necho "branch is protected" >&2\nexit 1\n', { mode: 0o755 })
    mockIntake()
    for (let attempt = 0; attempt < 2; attempt += 1) nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockBotIdentity()
    const failure = nockUpdateIssueComment(OWNER, REPO, 1001)
    await devsys.deliver('issues', labelledIssue())
    const { body } = await failure.body
    expect(body).toContain('could not generate `create-blog`')
    expect(body).toMatch(/push/i)
    expect(body).not.toContain(TEST_INSTALLATION_TOKEN)
    expect(hasBranch(remote.bare, BRANCH)).toBe(false)
    expect((await devsys.queue.listJobs({ kind: 'generate' }))[0]).toMatchObject({
      state: 'failed',
      attempts: 2,
    })
    expect(readdirSync(tmp)).toEqual([])
  })

  it('reports a clone that fails', async () => {
    mockIntake()
    for (let attempt = 0; attempt < 2; attempt += 1) nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockBotIdentity()
    const failure = nockUpdateIssueComment(OWNER, REPO, 1001)
    const payload = labelledIssue()
    payload.repository.clone_url = join(remote.root, 'no-such-repo.git')
    await devsys.deliver('issues', payload)
    expect((await failure.body).body).toMatch(/clone/i)
    expect(readdirSync(tmp)).toEqual([])
  })
})

function revise(body: string) {
  return examplePayload('issue_comment', 'created', (p) => {
    p.issue.number = 5
    p.issue.pull_request = {
      url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/5',
      html_url: 'https://github.com/Codertocat/Hello-World/pull/5',
      diff_url: 'https://github.com/Codertocat/Hello-World/pull/5.diff',
      patch_url: 'https://github.com/Codertocat/Hello-World/pull/5.patch',
      merged_at: null,
    }
    p.comment.body = body
    p.repository.clone_url = remote.bare
    p.repository.default_branch = 'main'
  })
}

async function servePhp(docroot: string): Promise<{ url: string; stop(): void }> {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const child: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', docroot], {
    stdio: 'ignore',
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i += 1) {
    try {
      await fetchText(`${url}/`)
      return { url, stop: () => child.kill() }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  child.kill()
  throw new Error(`php -S did not start on port ${port}`)
}

async function fetchText(url: string): Promise<{ status: number; body: string }> {
  const response = await httpRequest(url)
  return { status: response.status, body: response.text }
}
