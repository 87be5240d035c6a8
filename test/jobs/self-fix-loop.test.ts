import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_SANDBOX } from '../../runner/sandbox/sandbox-settings.js'
import { createApiHandler } from '../../src/api/create-api-handler.js'
import { loadEnv } from '../../src/config/load-env.js'
import type { GenerateRequest, Generator } from '../../src/generate/types.js'
import { createRemote, filesOn, git } from '../helpers/git-remote.js'
import {
  type CheckRunBody,
  nockBotIdentity,
  nockCreateCheckRun,
  nockCreateCommentReaction,
  nockCreateIssueComment,
  nockCreatePull,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockListPulls,
  nockUpdateCheckRun,
  nockUpdateIssueComment,
  nockUpdatePull,
  testLogger,
  useGitHubMock,
} from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
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
const BRANCH = 'devsys/greet'
const API_TOKEN = 'loop-test-manager-token-0123456789'

/** A task whose tests are a shell script writing JUnit: `greet.sh` must print Hello. */
const manifest = JSON.stringify({
  id: 'greet',
  title: 'A greeting',
  stack: 'static',
  generator: 'command',
  stories: [{ as: 'visitor', want: 'to be greeted' }],
  acceptance: [{ path: '/', bodyContains: ['Hello'] }],
  tests: { command: ['sh', 'tests/run.sh'], junit: 'build/junit.xml', timeoutSeconds: 60 },
})

/** The task's test suite, as the agent writes it: one case, failing with what greet.sh printed. */
const TEST_SUITE = `#!/bin/sh
mkdir -p build
out=$(sh greet.sh)
if [ "$out" = "Hello" ]; then
  printf '<testsuite name="greet" tests="1"><testcase classname="greet" name="says hello" time="0.01"/></testsuite>' > build/junit.xml
  exit 0
fi
printf '<testsuite name="greet" tests="1"><testcase classname="greet" name="says hello" time="0.01"><failure message="expected Hello, got %s">greet.sh printed %s</failure></testcase></testsuite>' "$out" "$out" > build/junit.xml
echo "1 test, 1 failure"
exit 1
`

let scripts: string
let remote: { root: string; bare: string }
let tmp: string
let devsys: IntakeHarness | undefined
const github = useGitHubMock()

beforeAll(async () => {
  scripts = mkdtempSync(join(tmpdir(), 'devsys-loop-agents-'))
  // Readable by the sandbox user, as an agent installed for all users would be.
  await chmod(scripts, 0o755)
  await writeFile(join(scripts, 'suite.sh'), TEST_SUITE, { mode: 0o644 })
})
afterAll(() => {
  rmSync(scripts, { recursive: true, force: true })
})
beforeEach(() => {
  remote = createRemote()
  tmp = mkdtempSync(join(tmpdir(), 'devsys-ws-'))
})
afterEach(async () => {
  await devsys?.close()
  devsys = undefined
  rmSync(remote.root, { recursive: true, force: true })
  rmSync(tmp, { recursive: true, force: true })
})

async function start(generate: IntakeOptions['generate'] = {}) {
  devsys = await startIntake({
    tmpDir: tmp,
    maxAttempts: 1,
    jobs: ['intake-issue', 'generate', 'pr-command'],
    env: { MANAGER_API_TOKEN: API_TOKEN },
    generate: {
      // The agents are scripts in a folder of the test's, as SANDBOX_READONLY_PATHS lists them.
      sandbox: { ...DEFAULT_SANDBOX, readOnlyPaths: [scripts] },
      ...generate,
    },
  })
  return devsys
}

/**
 * Writes a shell script that plays the coding agent: it installs the test suite, and writes
 * greet.sh from what its prompt file (DEVSYS_PROMPT_FILE) says. `body` decides, with
 * `$failures` holding the prompt's "Failing tests" section (empty on the first iteration).
 */
function agent(name: string, body: string): string[] {
  const file = join(scripts, `${name}.sh`)
  writeFileSync(
    file,
    `#!/bin/sh
set -e
mkdir -p tests
cp ${join(scripts, 'suite.sh')} tests/run.sh
failures=$(sed -n '/^## Failing tests/,/^## Repository layout/p' "$DEVSYS_PROMPT_FILE")
${body}
`,
    { mode: 0o755 },
  )
  return ['sh', file]
}

function repoConfig(command: string[], extra = ''): string {
  return `generator:\n  kind: command\n  command: ${JSON.stringify(command)}\n  timeoutSeconds: 60\n${extra}`
}

function revise(body: string) {
  return examplePayload('issue_comment', 'created', (p) => {
    p.issue.number = 5
    p.issue.pull_request = {
      url: `https://api.github.com/repos/${OWNER}/${REPO}/pulls/5`,
      html_url: `https://github.com/${OWNER}/${REPO}/pull/5`,
      diff_url: `https://github.com/${OWNER}/${REPO}/pull/5.diff`,
      patch_url: `https://github.com/${OWNER}/${REPO}/pull/5.patch`,
      merged_at: null,
    }
    p.comment.body = body
    p.repository.clone_url = remote.bare
    p.repository.default_branch = 'main'
  })
}

function labelledIssue() {
  return examplePayload('issues', 'labeled', (p) => {
    p.issue.body = `Build it.\n\n\`\`\`json\n${manifest}\n\`\`\`\n`
    p.label = testLabel('devsys')
    p.issue.labels = [testLabel('devsys')]
    p.repository.clone_url = remote.bare
    p.repository.default_branch = 'main'
  })
}

/**
 * Intake, then a generation with a self-fix loop of `iterations` tested commits: a check run
 * created and completed per iteration, then PR #5, its status comment and the issue's link.
 */
function mockLoop(config: string, iterations: number) {
  nockGetContent(OWNER, REPO, CONFIG, null, config)
  nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
  nockCreateReaction(OWNER, REPO, 1)
  nockCreateIssueComment(OWNER, REPO, 1)
  nockGetContent(OWNER, REPO, CONFIG, null, config)
  nockBotIdentity()
  const checks: Array<{ created: Promise<CheckRunBody>; completed: Promise<CheckRunBody> }> = []
  for (let i = 0; i < iterations; i += 1) {
    checks.push({
      created: nockCreateCheckRun(OWNER, REPO, 4242 + i).body,
      completed: nockUpdateCheckRun(OWNER, REPO, 4242 + i).body,
    })
  }
  nockListPulls(OWNER, REPO, BRANCH)
  return {
    checks,
    pr: nockCreatePull(OWNER, REPO, 5).body,
    status: nockCreateIssueComment(OWNER, REPO, 5, { id: 2001 }).body,
    issueLink: nockUpdateIssueComment(OWNER, REPO, 1001).body,
  }
}

/** The branch's commits on top of main, oldest first: subject lines. */
function commits(): string[] {
  return git(remote.bare, 'log', '--reverse', '--format=%s', `main..${BRANCH}`).split('\n')
}

const FIX_ON_RETRY = `if [ -z "$failures" ]; then
  echo 'echo Bye' > greet.sh
else
  echo 'echo Hello' > greet.sh
  # What the agent was told, committed so the test can read it.
  printf '%s\\n' "$failures" > seen-failures.txt
fi`

describe('self-fix loop', () => {
  it('a first iteration with a failing test is fixed by the second: 2 commits, check run green, PR ready', async () => {
    const config = repoConfig(agent('fixer', FIX_ON_RETRY))
    const github = mockLoop(config, 2)
    const harness = await start()
    await harness.deliver('issues', labelledIssue())

    expect(commits()).toEqual([
      'Generate greet (revision 1)',
      'Fix 1 failing test (iteration 2 of 3)',
    ])
    expect(git(remote.bare, 'log', '-1', '--format=%b', BRANCH)).toContain('- greet › says hello')
    expect(git(remote.bare, 'show', `${BRANCH}:greet.sh`)).toBe('echo Hello')
    // The failures reached the agent through its prompt: name, message and output tail.
    const seen = git(remote.bare, 'show', `${BRANCH}:seen-failures.txt`)
    expect(seen).toContain('test: greet › says hello')
    expect(seen).toContain('message: expected Hello, got Bye')
    expect(seen).toContain('1 test, 1 failure')

    const [first, second] = github.checks
    const head = git(remote.bare, 'rev-parse', BRANCH)
    expect(await first?.created).toMatchObject({
      name: 'DevSys / tests',
      status: 'in_progress',
      head_sha: git(remote.bare, 'rev-parse', `${BRANCH}~1`),
      external_id: 'greet',
    })
    const failed = await first?.completed
    expect(failed).toMatchObject({ status: 'completed', conclusion: 'failure' })
    expect(failed?.output?.title).toBe('Iteration 1 of 3: 1 of 1 tests failed')
    expect(failed?.output?.summary).toContain('iteration 2 is fixing them')
    expect(await second?.created).toMatchObject({ head_sha: head, status: 'in_progress' })
    const passed = await second?.completed
    expect(passed).toMatchObject({ status: 'completed', conclusion: 'success' })
    expect(passed?.output?.title).toBe('1 passed, 0 skipped (after 2 iterations)')
    expect(passed?.output?.summary).toContain('The tests pass after 2 iterations')
    expect(passed?.output?.summary).toMatch(
      /\| 1 \| 3 \| ❌ 1 of 1 tests failed \| \d+\.\d s \| — \|/,
    )
    expect(passed?.output?.summary).toMatch(
      /\| 2 \| 2 \| ✅ 1 passed, 0 skipped \| \d+\.\d s \| — \|/,
    )

    // Tests pass, so the PR opens ready for review; body and status comment tell the iterations.
    const pr = await github.pr
    expect(pr).toMatchObject({ head: BRANCH, draft: false })
    expect(pr.body).toContain('#### Iterations')
    expect(pr.body).toContain('The tests pass after 2 iterations')
    expect((await github.status).body).toContain(
      '| iteration | files changed | tests | duration | tokens |',
    )
    expect((await github.issueLink).body).toContain('ready for review')
    // The loop's last check run is the result: no run-tests job tests the head again.
    expect(await harness.queue.listJobs({ kind: 'run-tests' })).toEqual([])
    const run = await harness.store.latestTestRun({ repo: `${OWNER}/${REPO}`, id: 'greet' })
    expect(run).toMatchObject({ headSha: head, state: 'completed', conclusion: 'success' })
    const [generation] = await harness.store.listGenerations({
      repo: `${OWNER}/${REPO}`,
      id: 'greet',
    })
    expect(generation).toMatchObject({ state: 'passed', stopReason: 'passed', headSha: head })
    expect(generation?.iterations.map((i) => i.tests?.conclusion)).toEqual(['failure', 'success'])
    expect(readdirSync(tmp)).toEqual([])
  })

  it('spends maxIterations with the test still failing: a draft PR that says so, with the remaining failure', async () => {
    // Always wrong, though never the same: each run leaves a change to commit.
    const config = repoConfig(
      agent('stubborn', `echo 'echo Bye' > greet.sh\necho run >> attempts.txt`),
      '  maxIterations: 2\n',
    )
    const github = mockLoop(config, 2)
    const harness = await start()
    await harness.deliver('issues', labelledIssue())

    expect(commits()).toEqual([
      'Generate greet (revision 1)',
      'Fix 1 failing test (iteration 2 of 2)',
    ])
    const last = await github.checks[1]?.completed
    expect(last).toMatchObject({ conclusion: 'failure' })
    expect(last?.output?.title).toBe('1 of 1 tests failed after 2 iterations')
    expect(last?.output?.summary).toContain('The tests still fail after 2 iterations')
    const pr = await github.pr
    expect(pr.draft).toBe(true)
    const status = (await github.status).body
    expect(status).toContain(
      '**The tests still fail after 2 iterations**, the limit (`generator.maxIterations`)',
    )
    expect(status).toContain('leaves the pull request as a draft')
    expect(status).toContain('Still failing:\n- `greet › says hello`: expected Hello, got Bye')
    const issueText = (await github.issueLink).body
    expect(issueText).toContain(
      '(a draft: the tests still fail after 2 iterations; the pull request lists the failures and what to do next)',
    )
    expect(issueText).not.toContain('draft until its tests pass')
    const [generation] = await harness.store.listGenerations({
      repo: `${OWNER}/${REPO}`,
      id: 'greet',
    })
    expect(generation).toMatchObject({ state: 'failed', stopReason: 'max-iterations' })
    expect((await harness.queue.listJobs({ kind: 'generate' }))[0]?.outcome).toMatchObject({
      status: 'rejected',
      reason: 'tests-failing-max-iterations',
    })
  })

  it('starts no iteration once budgetSeconds is spent', async () => {
    const config = repoConfig(agent('slow', FIX_ON_RETRY), '  budgetSeconds: 60\n')
    const github = mockLoop(config, 1)
    // DevSys's clock runs 1000 times faster than the wall clock: the first iteration (the agent
    // and the tests, over 60 ms) spends the 60 s budget.
    const t0 = Date.now()
    const harness = await start({ now: () => t0 + (Date.now() - t0) * 1000 })
    await harness.deliver('issues', labelledIssue())

    // The agent would fix it on a second run (see the first test), but none started.
    expect(commits()).toEqual(['Generate greet (revision 1)'])
    const only = await github.checks[0]?.completed
    expect(only?.output?.title).toBe('1 of 1 tests failed after 1 iteration (time budget spent)')
    const status = (await github.status).body
    expect(status).toContain(
      '**The time budget is spent** (`generator.budgetSeconds`: 60 s) after 1 of 3 iterations',
    )
    expect((await github.pr).draft).toBe(true)
    const [generation] = await harness.store.listGenerations({
      repo: `${OWNER}/${REPO}`,
      id: 'greet',
    })
    expect(generation).toMatchObject({ state: 'failed', stopReason: 'budget' })
  })

  it('an agent that fails in iteration 2 leaves iteration 1 on the branch, and says what happened', async () => {
    const config = repoConfig(
      agent(
        'crasher',
        `echo 'echo Bye' > greet.sh\nif [ -n "$failures" ]; then echo 'model unreachable' >&2; exit 7; fi`,
      ),
    )
    const github = mockLoop(config, 1)
    // The head's check run (iteration 1's) learns how the loop ended.
    const rewritten = nockUpdateCheckRun(OWNER, REPO, 4242).body
    const harness = await start()
    await harness.deliver('issues', labelledIssue())

    expect(commits()).toEqual(['Generate greet (revision 1)'])
    const head = git(remote.bare, 'rev-parse', BRANCH)
    const update = await rewritten
    expect(update.status).toBeUndefined()
    expect(update.output?.title).toBe('1 of 1 tests failed; iteration 2 failed')
    expect(update.output?.summary).toContain(
      '**Iteration 2 failed**: The generator command exited with code 7',
    )
    expect(update.output?.summary).toContain(
      `The branch keeps iteration 1's commit ${head.slice(0, 7)}`,
    )
    const pr = await github.pr
    expect(pr.draft).toBe(true)
    expect(pr.body).toContain('agent failed: The generator command exited with code 7')
    const [generation] = await harness.store.listGenerations({
      repo: `${OWNER}/${REPO}`,
      id: 'greet',
    })
    expect(generation).toMatchObject({
      state: 'stopped',
      stopReason: 'agent-failed',
      headSha: head,
    })
    expect(generation?.iterations[1]?.error).toContain('model unreachable')
  })

  it('tests the commit as a fresh clone has it: an ignored report the agent left behind is not read', async () => {
    // The agent leaves a passing report in an ignored folder; its test command writes none.
    const config = repoConfig(
      agent(
        'leftovers',
        `printf 'build/\\n' > .gitignore
mkdir -p build
printf '<testsuite name="stale" tests="1"><testcase classname="stale" name="passes"/></testsuite>' > build/junit.xml
echo 'exit 1' > tests/run.sh
echo 'echo Hello' > greet.sh`,
      ),
      '  maxIterations: 1\n',
    )
    const github = mockLoop(config, 1)
    const harness = await start()
    await harness.deliver('issues', labelledIssue())

    expect(filesOn(remote.bare, BRANCH)).not.toContain('build/junit.xml')
    const only = await github.checks[0]?.completed
    expect(only).toMatchObject({ conclusion: 'failure' })
    expect(only?.output?.title).toBe('No test report after 1 iteration')
    expect((await github.pr).draft).toBe(true)
    const [generation] = await harness.store.listGenerations({
      repo: `${OWNER}/${REPO}`,
      id: 'greet',
    })
    expect(generation).toMatchObject({ state: 'failed', stopReason: 'max-iterations' })
  })

  it('completes the check run a DevSys that died during the tests left in progress, before looping again', async () => {
    const config = repoConfig(agent('fixer-again', FIX_ON_RETRY))
    const github = mockLoop(config, 2)
    const closed = nockUpdateCheckRun(OWNER, REPO, 999).body
    const harness = await start()
    // What a process killed during iteration 1's tests left: a running generation, a test run in
    // progress with its check run.
    const task = { repo: `${OWNER}/${REPO}`, id: 'greet' }
    const dead = await harness.store.startGeneration({
      task,
      generator: 'command',
      reason: 'intake',
      maxIterations: 3,
      budgetSeconds: 3600,
    })
    const run = await harness.store.startTestRun({ task, headSha: 'a'.repeat(40), checkRunId: 999 })
    await harness.store.updateTestRun(run.id, { state: 'in_progress' })
    await harness.store.saveIteration(dead.id, {
      iteration: 1,
      headSha: 'a'.repeat(40),
      committed: true,
      files: [],
      testRunId: run.id,
      tests: null,
      activity: null,
      error: null,
      durationMs: 0,
    })
    await harness.deliver('issues', labelledIssue())

    expect(await closed).toMatchObject({ status: 'completed', conclusion: 'failure' })
    expect(await harness.store.getTestRun(run.id)).toMatchObject({ state: 'completed' })
    expect((await github.checks[1]?.completed)?.conclusion).toBe('success')
    const generations = await harness.store.listGenerations(task)
    expect(generations.map((g) => [g.state, g.stopReason])).toEqual([
      ['passed', 'passed'],
      ['error', 'interrupted'],
    ])
  })

  it('/revise runs the loop with the feedback: a passing revision takes the draft PR out of draft', async () => {
    // Wrong without feedback; the /revise feedback ("say Hello") reaches the agent's prompt.
    const config = repoConfig(
      agent(
        'listener',
        `if grep -q '> say Hello' "$DEVSYS_PROMPT_FILE"; then echo 'echo Hello' > greet.sh; else echo 'echo Bye' > greet.sh; fi`,
      ),
      '  maxIterations: 1\n',
    )
    const first = mockLoop(config, 1)
    const harness = await start()
    await harness.deliver('issues', labelledIssue())
    expect((await first.pr).draft).toBe(true)

    nockGetContent(OWNER, REPO, CONFIG, null, config)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateCommentReaction(OWNER, REPO, 492700400)
    nockGetContent(OWNER, REPO, CONFIG, null, config)
    const check = {
      created: nockCreateCheckRun(OWNER, REPO, 4300).body,
      completed: nockUpdateCheckRun(OWNER, REPO, 4300).body,
    }
    const updated = nockUpdatePull(OWNER, REPO, 5, true).body
    const status = nockUpdateIssueComment(OWNER, REPO, 2001).body
    const gh = github()
    gh.get(`/repos/${OWNER}/${REPO}/pulls/5`).reply(200, {
      number: 5,
      draft: true,
      node_id: 'PR_node5',
    })
    const ready = gh
      .post(
        '/graphql',
        (body: { query: string; variables: { id: string } }) =>
          body.query.includes('markPullRequestReadyForReview') && body.variables.id === 'PR_node5',
      )
      .reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } })
    const issueLink = nockUpdateIssueComment(OWNER, REPO, 1001).body
    const rocket = nockCreateCommentReaction(OWNER, REPO, 492700400).body
    await harness.deliver('issue_comment', revise('/revise say Hello'))

    expect(commits()).toEqual(['Generate greet (revision 1)', 'Revise greet: say Hello'])
    expect((await check.created).head_sha).toBe(git(remote.bare, 'rev-parse', BRANCH))
    expect(await check.completed).toMatchObject({
      conclusion: 'success',
      output: { title: '1 passed, 0 skipped' },
    })
    expect((await updated).body).toContain('The tests pass on the first iteration.')
    expect((await status).body).toContain('> say Hello')
    expect(ready.isDone()).toBe(true)
    expect((await issueLink).body).toContain('ready for review')
    expect(await rocket).toEqual({ content: 'rocket' })
  })

  it("stores each iteration's activity and token usage, shows it collapsed on the PR and the check run, and returns it from the API", async () => {
    const config = repoConfig(['not-run'])
    const github = mockLoop(config, 2)
    // A generator that reports activity as the agent presets do; it writes the suite and greet.sh.
    const fake: Generator = {
      kind: 'agent',
      async generate(request: GenerateRequest) {
        const fixing = request.previousTests !== undefined
        await mkdir(join(request.workspace, 'tests'), { recursive: true })
        await writeFile(join(request.workspace, 'tests/run.sh'), TEST_SUITE)
        await writeFile(join(request.workspace, 'greet.sh'), fixing ? 'echo Hello' : 'echo Bye')
        return {
          files: ['greet.sh', 'tests/run.sh'],
          summary: 'Ran opencode.',
          activity: {
            agent: 'opencode',
            model: 'gpt-4.1',
            toolCalls: fixing
              ? [
                  {
                    tool: 'edit',
                    summary: `greet.sh (${request.previousTests?.failures[0]?.message})`,
                  },
                ]
              : [
                  { tool: 'write', summary: 'tests/run.sh' },
                  { tool: 'write', summary: 'greet.sh' },
                  { tool: 'bash', summary: 'sh tests/run.sh | <b>' },
                ],
            usage: fixing
              ? { inputTokens: 900, outputTokens: 40 }
              : { inputTokens: 12_000, outputTokens: 2_100, cachedInputTokens: 8_000 },
            durationMs: 1500,
          },
        }
      },
    }
    const harness = await start({ createGenerator: () => fake })
    await harness.deliver('issues', labelledIssue())

    const summary = (await github.checks[1]?.completed)?.output?.summary ?? ''
    for (const shown of [summary, (await github.status).body, (await github.pr).body ?? '']) {
      expect(shown).toContain(
        '<details><summary>Agent activity: 4 steps, 12,900 input and 2,140 output tokens</summary>',
      )
      expect(shown).toContain('**Iteration 1** (opencode, gpt-4.1, 1.5 s)')
      expect(shown).toContain('3. `bash` sh tests/run.sh \\| &lt;b>')
      expect(shown).toContain('1. `edit` greet.sh (expected Hello, got Bye)')
      expect(shown).toContain('Tokens: 12,000 in (8,000 cached) / 2,100 out')
      expect(shown).toMatch(
        /\| 2 \| 1 \| ✅ 1 passed, 0 skipped \| \d+\.\d s \| 900 in \/ 40 out \|/,
      )
    }

    // The API: GET /api/tasks/:id returns the generation with each iteration's activity.
    const loaded = loadEnv({ DATA_DIR: harness.dataDir, MANAGER_API_TOKEN: API_TOKEN })
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
    const handler = createApiHandler({
      store: harness.store,
      queue: harness.queue,
      config: loaded.config,
      log: testLogger(),
    })
    const server = createServer((req, res) => void handler(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const answer = await httpRequest(
        `http://127.0.0.1:${port}/api/tasks/greet?repo=${OWNER}/${REPO}`,
        { headers: { authorization: `Bearer ${API_TOKEN}` } },
      )
      expect(answer.status).toBe(200)
      const { task } = answer.json<{ task: { generations: unknown[] } }>()
      expect(task.generations).toEqual([
        expect.objectContaining({
          generator: 'command',
          state: 'passed',
          maxIterations: 3,
          usage: { inputTokens: 12_900, outputTokens: 2_140, cachedInputTokens: 8_000 },
          iterations: [
            expect.objectContaining({
              iteration: 1,
              files: ['greet.sh', 'tests/run.sh'],
              tests: expect.objectContaining({ conclusion: 'failure' }),
              activity: expect.objectContaining({
                usage: { inputTokens: 12_000, outputTokens: 2_100, cachedInputTokens: 8_000 },
              }),
            }),
            expect.objectContaining({
              iteration: 2,
              files: ['greet.sh'],
              tests: expect.objectContaining({ conclusion: 'success' }),
              activity: expect.objectContaining({ usage: { inputTokens: 900, outputTokens: 40 } }),
            }),
          ],
        }),
      ])
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
    expect(filesOn(remote.bare, BRANCH)).toEqual(
      expect.arrayContaining(['greet.sh', 'tests/run.sh']),
    )
  })
})
