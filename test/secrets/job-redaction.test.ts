/**
 * DevSys's secrets in what task code prints (test output, JUnit reports, generator output) and in
 * error messages: redacted in every request to GitHub and in every stored record.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nock from 'nock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RunnerError } from '../../runner/types.js'
import { forgetSecrets } from '../../src/secrets/redact.js'
import { createRemote, git } from '../helpers/git-remote.js'
import {
  githubRequests,
  nockBotIdentity,
  nockCreateCheckRun,
  nockCreateIssueComment,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockUpdateCheckRun,
  nockUpdateIssueComment,
  testPrivateKey,
  useGitHubMock,
} from '../helpers/github.js'
import { examplePayload } from '../helpers/payloads.js'
import {
  type IntakeHarness,
  type IntakeOptions,
  startIntake,
  testLabel,
} from '../intake/harness.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const CONFIG = '.github/devsys.yml'
const TASK = 'hello'
const BRANCH = `devsys/${TASK}`
const WEBHOOK_SECRET = 'whsec-redaction-0123456789abcdef'
const API_TOKEN = 'manager-api-token-redaction-0123456789'
/** GitHub Enterprise Server's older, unprefixed token form: no token shape gives it away. */
const INSTALLATION_TOKEN = 'v1.0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c'

/** A line from the middle of the App's private key, as output that wraps the key would show. */
function pemLine(): string {
  const line = testPrivateKey().split('\n')[5]
  if (line === undefined || line.length < 60) throw new Error('unexpected test key layout')
  return line
}

function secrets(): string[] {
  return [WEBHOOK_SECRET, API_TOKEN, pemLine(), INSTALLATION_TOKEN]
}

/** DevSys's environment holding the secrets, as an operator would set it. */
function secretEnv(): Record<string, string> {
  return {
    APP_ID: '1',
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET,
    MANAGER_API_TOKEN: API_TOKEN,
  }
}

/** Asserts `value` (anything JSON) holds no secret and at least one redaction marker. */
function expectRedacted(value: unknown): void {
  const text = JSON.stringify(value)
  for (const secret of secrets()) expect(text).not.toContain(secret)
  expect(text).toContain('[redacted]')
}

/**
 * A test command that prints every secret it was given (tests/leak.txt, as task code that got
 * hold of them would) on stdout and stderr, and puts them in a failing case of its JUnit report.
 */
const LEAKING_TESTS = `
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
const leaked = readFileSync('tests/leak.txt', 'utf8').trim().split('\\n')
for (const value of leaked) { console.log('stdout: ' + value); console.error('stderr: ' + value) }
const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
mkdirSync('build', { recursive: true })
writeFileSync('build/junit.xml', \`<?xml version="1.0"?><testsuites><testsuite name="Leak" tests="1">
<testcase name="leaks" classname="Leak" file="src/app.js" line="3"><failure message="\${escape(leaked.join(' '))}">\${escape(leaked.join('\\n'))}</failure></testcase>
</testsuite></testsuites>\`)
process.exitCode = 1
`

let remote: { root: string; bare: string }
let tmp: string
let devsys: IntakeHarness
const github = useGitHubMock()

beforeEach(() => {
  remote = createRemote()
  tmp = mkdtempSync(join(tmpdir(), 'devsys-ws-'))
  // This installation's token instead of the default token-shaped one.
  nock.cleanAll()
  github()
    .persist()
    .post(/^\/app\/installations\/\d+\/access_tokens$/)
    .reply(201, {
      token: INSTALLATION_TOKEN,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      permissions: { checks: 'write', contents: 'write', issues: 'write', pull_requests: 'write' },
      repository_selection: 'all',
    })
})
afterEach(async () => {
  await devsys?.close()
  forgetSecrets()
  rmSync(remote.root, { recursive: true, force: true })
  rmSync(tmp, { recursive: true, force: true })
})

async function start(opts: IntakeOptions): Promise<void> {
  devsys = await startIntake({ tmpDir: tmp, maxAttempts: 2, env: secretEnv(), ...opts })
}

/** The task `hello` on its branch, with the leaking test command committed there. */
async function saveLeakingTask(): Promise<void> {
  const work = join(remote.root, 'work')
  git(remote.root, 'clone', '-q', remote.bare, work)
  git(work, 'checkout', '-q', '-b', BRANCH)
  mkdirSync(join(work, 'tests'))
  writeFileSync(join(work, 'tests', 'run.mjs'), LEAKING_TESTS)
  writeFileSync(join(work, 'tests', 'leak.txt'), `${secrets().join('\n')}\n`)
  git(work, 'add', '-A')
  git(work, 'commit', '-q', '-m', 'tests')
  git(work, 'push', '-q', 'origin', BRANCH)
  const manifest = {
    id: TASK,
    title: 'Hello',
    stack: 'static',
    stories: [{ as: 'visitor', want: 'a greeting' }],
    acceptance: [{ path: '/' }],
    tests: { command: ['node', 'tests/run.mjs'], junit: 'build/junit.xml', timeoutSeconds: 60 },
  }
  await devsys.store.saveTask({
    id: TASK,
    title: 'Hello',
    source: { kind: 'api', repo: `${OWNER}/${REPO}`, key: 'api', requester: 'mona' },
    manifestText: JSON.stringify(manifest),
    spec: 'spec',
  })
  await devsys.store.setTaskCode(
    { repo: `${OWNER}/${REPO}`, id: TASK },
    {
      branch: BRANCH,
      headSha: git(remote.bare, 'rev-parse', BRANCH),
      pullRequest: { number: 5, url: `https://github.com/${OWNER}/${REPO}/pull/5` },
    },
    'test',
  )
}

function rerequested() {
  return examplePayload('check_run', 'rerequested', (p) => {
    p.check_run.name = 'DevSys / tests'
    p.check_run.external_id = TASK
    p.check_run.head_sha = git(remote.bare, 'rev-parse', BRANCH)
    p.repository.name = REPO
    p.repository.full_name = `${OWNER}/${REPO}`
    p.repository.owner.login = OWNER
    p.repository.clone_url = remote.bare
    p.repository.default_branch = 'main'
  })
}

describe('secrets in what DevSys writes', () => {
  it('test output and the JUnit report: redacted in the check run, the PR comment and the stored test run', async () => {
    await start({ jobs: ['run-tests'] })
    await saveLeakingTask()
    nockCreateCheckRun(OWNER, REPO, 77)
    const inProgress = nockUpdateCheckRun(OWNER, REPO, 77)
    const done = nockUpdateCheckRun(OWNER, REPO, 77)
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    const comment = nockCreateIssueComment(OWNER, REPO, 5)

    await devsys.deliver('check_run', rerequested())

    expect((await inProgress.body).status).toBe('in_progress')
    const output = (await done.body).output
    expect(output?.text).toContain('stdout: [redacted]')
    expect(output?.text).toContain('stderr: [redacted]')
    expect(output?.annotations).toEqual([
      expect.objectContaining({
        path: 'src/app.js',
        message: expect.stringContaining('[redacted]'),
      }),
    ])
    expectRedacted(output)
    await comment.body
    // Every request body DevSys sent GitHub, not only the ones looked at above.
    for (const secret of secrets()) {
      expect(JSON.stringify(githubRequests().map((r) => r.body))).not.toContain(secret)
    }
    const run = await devsys.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: TASK })
    expect(run?.conclusion).toBe('failure')
    expectRedacted(run?.report)
    // The file on disk is not DevSys's to change; only what it writes is redacted.
    expect(readFileSync(join(remote.root, 'work', 'tests', 'leak.txt'), 'utf8')).toContain(
      WEBHOOK_SECRET,
    )
  })

  it('an error message: redacted in the stored job, the stored test run and the check run', async () => {
    await start({
      jobs: ['run-tests'],
      runner: async () => ({
        kind: 'remote-ssh',
        run: async () => {
          throw new RunnerError(
            'unavailable',
            'remote-ssh',
            `ssh said: bad key line ${pemLine()}; env WEBHOOK_SECRET=${WEBHOOK_SECRET} TOKEN=${INSTALLATION_TOKEN} API=${API_TOKEN}`,
          )
        },
      }),
    })
    await saveLeakingTask()
    nockCreateCheckRun(OWNER, REPO, 77)
    nockUpdateCheckRun(OWNER, REPO, 77)
    nockUpdateCheckRun(OWNER, REPO, 77)
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    nockGetContent(OWNER, REPO, CONFIG, null, null)
    const done = nockUpdateCheckRun(OWNER, REPO, 77)

    await devsys.deliver('check_run', rerequested())

    const body = await done.body
    expect(body).toMatchObject({ conclusion: 'failure' })
    expect(body.output?.summary).toContain('ssh said: bad key line [redacted]')
    expectRedacted(body.output)
    const [job] = await devsys.queue.listJobs({ kind: 'run-tests' })
    expect(job?.state).toBe('failed')
    expectRedacted(job?.lastError)
    expectRedacted(
      (await devsys.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: TASK }))?.summary,
    )
  })

  it('generator output: redacted on the issue and in the stored job outcome', async () => {
    await start({ jobs: ['intake-issue', 'generate'] })
    // The agent prints the secrets; hex in the command so the config itself holds none.
    const hex = Buffer.from(secrets().join('\n')).toString('hex')
    const config = `generator:\n  kind: command\n  command: ["node", "-e", "console.log(Buffer.from('${hex}', 'hex').toString()); process.exit(3)"]\n`
    nockGetContent(OWNER, REPO, CONFIG, null, config)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    nockCreateIssueComment(OWNER, REPO, 1)
    nockGetContent(OWNER, REPO, CONFIG, null, config)
    nockBotIdentity()
    const failure = nockUpdateIssueComment(OWNER, REPO, 1001)
    const manifest = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')

    await devsys.deliver(
      'issues',
      examplePayload('issues', 'labeled', (p) => {
        p.issue.body = `Build it.\n\n\`\`\`json\n${manifest}\n\`\`\`\n`
        p.label = testLabel('devsys')
        p.issue.labels = [testLabel('devsys')]
        p.repository.clone_url = remote.bare
        p.repository.default_branch = 'main'
      }),
    )

    const { body } = await failure.body
    expect(body).toContain('could not generate')
    expectRedacted(body)
    const [job] = await devsys.queue.listJobs({ kind: 'generate' })
    expect(job?.outcome).toMatchObject({ status: 'rejected', reason: 'generator-exit-code' })
    expectRedacted(job?.outcome)
  })
})
