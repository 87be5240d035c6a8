/**
 * The real Codex CLI as DevSys's coding agent, end to end: DevSys as its own process with
 * AGENT_BASE_URL pointing at a scripted fake model server (the Responses dialect), a
 * repository whose `.github/devsys.yml` selects `kind: agent, agent: codex`, an issue holding a
 * manifest. The self-fix loop gives the second run the failures of the first; a write under
 * `.github/` is refused with nothing pushed.
 */
import { describe, expect, it } from 'vitest'
import { git, hasBranch } from '../helpers/git-remote.js'
import { processesWith } from '../helpers/processes.js'
import { requireTool } from '../helpers/require-tool.js'
import {
  AGENT_KEY,
  agentConfig,
  branchCommits,
  commitOnMain,
  greetManifest,
  newMarker,
  requestTexts,
  TEST_SUITE,
  testsConclusion,
  useFakeModel,
} from './agent-steps.js'
import { OWNER, REPO, useE2eWorld } from './e2e-world.js'
import {
  commentsOn,
  fileTaskIssue,
  labeledIssuePayload,
  TESTS_CHECK,
  waitUntil,
} from './scenario-steps.js'

const hasSandbox = requireTool('bwrap', 'the agent and the task tests run in the sandbox')

/** Codex's exec_command tool. */
const exec = (cmd: string) => ({ name: 'exec_command', args: { cmd, yield_time_ms: 10_000 } })
/** Codex changes files with an apply_patch heredoc through exec_command. */
const patch = (body: string) =>
  exec(`apply_patch <<'PATCH'\n*** Begin Patch\n${body}*** End Patch\nPATCH\n`)
const addFile = (path: string, content: string) =>
  patch(
    `*** Add File: ${path}\n${content
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => `+${line}\n`)
      .join('')}`,
  )

const world = useE2eWorld()
const model = useFakeModel(world)

describe.skipIf(!hasSandbox)('Codex as the coding agent, end to end', { timeout: 180_000 }, () => {
  it('a first iteration leaving a failing test is fixed by the second: the failures reach the model, red then green check runs, 2 commits, PR ready', async () => {
    const marker = newMarker()
    const task = greetManifest(marker)
    commitOnMain(world, { '.github/devsys.yml': agentConfig('codex', 3) }, 'Use Codex')
    const fake = await model.start([
      // Iteration 1: the suite and a wrong greeting.
      { tools: [addFile('tests/run.sh', TEST_SUITE)] },
      { tools: [addFile('greet.sh', 'echo Helo\n')] },
      { text: 'The greeting is written.' },
      // Iteration 2: the fix.
      { tools: [patch('*** Update File: greet.sh\n@@\n-echo Helo\n+echo Hello\n')] },
      { text: 'Fixed the greeting.' },
    ])

    // 1. The PR is opened once the loop is done, ready for review: the tests pass.
    const opened = await fileTaskIssue(world, task.text)
    expect(opened.opened.body).toMatchObject({ head: opened.branch, base: 'main', draft: false })
    expect(world.repo.state.pulls.get(opened.number)?.draft).toBe(false)

    // 2. Two commits on the branch, one per iteration; the second has the fix.
    const { bare } = world.remote
    const commits = branchCommits(bare, opened.branch)
    expect(commits, world.logTail()).toHaveLength(2)
    expect(commits[1]).toBe(opened.head)
    expect(git(bare, 'show', `${commits[0]}:greet.sh`)).toBe('echo Helo')
    expect(git(bare, 'show', `${commits[1]}:greet.sh`)).toBe('echo Hello')
    expect(`${git(bare, 'show', `${opened.branch}:tests/run.sh`)}\n`).toBe(TEST_SUITE)

    // 3. `DevSys / tests` failed on iteration 1's commit and passed on iteration 2's.
    expect(testsConclusion(world, commits[0] as string), world.logTail()).toBe('failure')
    expect(testsConclusion(world, commits[1] as string)).toBe('success')

    // 4. The failures reached the model: the first request of the second run (the fourth)
    //    holds the failing test's name and message, and none of the first run's did.
    const texts = requestTexts(fake)
    expect(texts).toHaveLength(5)
    expect(texts.slice(0, 3).join('\n')).not.toContain('expected Hello, got Helo')
    expect(texts[3]).toContain('## Failing tests (data)')
    expect(texts[3]).toContain('says hello')
    expect(texts[3]).toContain('expected Hello, got Helo')

    // 5. The PR tells the story: fixed after 2 iterations, with each iteration's steps.
    const body = world.repo.state.pulls.get(opened.number)?.body ?? ''
    expect(body, world.logTail()).toContain(
      'The tests pass after 2 iterations: DevSys gave the agent the failing tests after each run and it fixed them.',
    )
    expect(body).toContain('**Iteration 1** (codex, fake-coder-1')
    expect(body).toContain('**Iteration 2** (codex, fake-coder-1')
    expect(body).toContain('`apply_patch` update greet.sh')
    expect(body).toMatch(/Agent activity: 3 steps, 6,170 input and 280 output tokens/)

    // The status comment on the PR, and the issue pointing at the PR, ready for review.
    await waitUntil(
      world,
      () => commentsOn(world, opened.issue).some((c) => c.includes('(ready for review)')),
      'the issue pointing at the ready PR',
    )
    const status = commentsOn(world, opened.number).join('\n')
    expect(status).toContain('Iteration 2: Ran codex (fake-coder-1): 1 tool call, ')
    expect(status).toContain('The tests pass after 2 iterations')

    for (const request of fake.modelRequests()) {
      expect(request.headers.authorization).toBe(`Bearer ${AGENT_KEY}`)
    }
    expect(JSON.stringify(world.github.requests.map((r) => r.body))).not.toContain(AGENT_KEY)
    expect(processesWith(marker)).toEqual([])
    expect(world.github.problems()).toEqual([])
  })

  it('an agent writing under .github/ is refused: a clear message on the issue, nothing pushed', async () => {
    const marker = newMarker()
    const task = greetManifest(marker)
    commitOnMain(world, { '.github/devsys.yml': agentConfig('codex', 2) }, 'Use Codex')
    await model.start([
      { tools: [addFile('greet.sh', 'echo Hello\n')] },
      { tools: [addFile('.github/workflows/steal.yml', 'on: push\n')] },
      { text: 'Done.' },
    ])

    const issue = labeledIssuePayload(task.text, world.cloneUrl)
    expect((await world.devsys.sendWebhook('issues', issue)).status).toBe(200)
    const said = () => commentsOn(world, issue.issue.number).join('\n---\n')
    await waitUntil(world, () => said().includes('could not generate'), 'the issue saying so')

    expect(said()).toContain(`DevSys could not generate \`${task.id}\``)
    expect(said()).toContain(
      'The generator changed .github/workflows/steal.yml, which is under the forbidden path .github/',
    )
    expect(said()).toContain('Nothing was pushed.')
    expect(hasBranch(world.remote.bare, `devsys/${task.id}`)).toBe(false)
    expect(world.github.requests.some((r) => r.path === `/repos/${OWNER}/${REPO}/pulls`)).toBe(
      false,
    )
    expect(processesWith(marker)).toEqual([])
    expect(world.github.problems()).toEqual([])
  })

  it('an iteration after a pushed one that breaks a rule → a draft PR keeping the pushed commit, the refused change not pushed', async () => {
    const marker = newMarker()
    const task = greetManifest(marker)
    commitOnMain(world, { '.github/devsys.yml': agentConfig('codex', 3) }, 'Use Codex')
    await model.start([
      // Iteration 1: the suite and a wrong greeting, pushed and tested.
      { tools: [addFile('tests/run.sh', TEST_SUITE)] },
      { tools: [addFile('greet.sh', 'echo Helo\n')] },
      { text: 'Done.' },
      // Iteration 2: a workflow under .github/, refused.
      { tools: [addFile('.github/workflows/steal.yml', 'on: push\n')] },
      { text: 'Done.' },
    ])

    const opened = await fileTaskIssue(world, task.text)
    expect(opened.opened.body).toMatchObject({ head: opened.branch, draft: true })
    const commits = branchCommits(world.remote.bare, opened.branch)
    expect(commits, world.logTail()).toEqual([opened.head])
    expect(git(world.remote.bare, 'ls-tree', '-r', '--name-only', opened.branch)).not.toContain(
      '.github/workflows/steal.yml',
    )
    // Its check run no longer says iteration 2 is fixing the failures.
    expect(testsConclusion(world, opened.head)).toBe('failure')
    expect(world.repo.checkRun(TESTS_CHECK, opened.head)?.output).toMatchObject({
      title: '1 of 1 tests failed; iteration 2 failed',
    })
    const body = world.repo.state.pulls.get(opened.number)?.body ?? ''
    expect(body, world.logTail()).toContain(
      '**Iteration 2 failed**: The generator changed .github/workflows/steal.yml, which is under the forbidden path .github/',
    )
    expect(body).toContain(
      `The branch keeps iteration 1's commit ${opened.head.slice(0, 7)}, whose tests fail`,
    )
    expect(body).toContain('leaves the pull request as a draft')
    expect(processesWith(marker)).toEqual([])
    expect(world.github.problems()).toEqual([])
  })

  it('a model that never answers → the agent is stopped at its timeout, a clear message on the issue, nothing pushed or left running', async () => {
    const marker = newMarker()
    const task = greetManifest(marker)
    commitOnMain(world, { '.github/devsys.yml': agentConfig('codex', 2, 20) }, 'Use Codex')
    const fake = await model.start([{ hang: true }])

    const issue = labeledIssuePayload(task.text, world.cloneUrl)
    expect((await world.devsys.sendWebhook('issues', issue)).status).toBe(200)
    // The agent is running (it asked the model), and found by its prompt's marker.
    await waitUntil(world, () => fake.modelRequests().length > 0, 'the agent asking the model')
    expect(processesWith(marker)).not.toEqual([])

    const said = () => commentsOn(world, issue.issue.number).join('\n---\n')
    await waitUntil(world, () => said().includes('could not generate'), 'the issue saying so')
    expect(said()).toMatch(
      /The codex agent did not finish within 20 s and was stopped\. It was waiting for the model endpoint, which had not answered for \d+ s\./,
    )
    expect(said()).toContain('Nothing was pushed.')
    expect(hasBranch(world.remote.bare, `devsys/${task.id}`)).toBe(false)
    expect(processesWith(marker)).toEqual([])
    expect(world.github.problems()).toEqual([])
  })

  it("an agent failing after printing much → the issue shows the end of its output, fenced, within GitHub's comment limit", async () => {
    const marker = newMarker()
    const task = greetManifest(marker)
    commitOnMain(world, { '.github/devsys.yml': agentConfig('codex', 2) }, 'Use Codex')
    // Lines that GitHub would render as a mention, an issue link and HTML if not fenced.
    const chatty = exec(
      'for i in $(seq 1 1500); do echo "line $i: @octocat see #1 <details><summary>x</summary>"; done',
    )
    await model.start([
      { tools: [chatty] },
      { tools: [chatty] },
      { status: 400, message: 'This model maximum context length is exceeded' },
    ])

    const issue = labeledIssuePayload(task.text, world.cloneUrl)
    expect((await world.devsys.sendWebhook('issues', issue)).status).toBe(200)
    const said = () => commentsOn(world, issue.issue.number).join('\n---\n')
    await waitUntil(world, () => said().includes('could not generate'), 'the issue saying so')

    const comment = said()
    expect(comment).toContain('This model maximum context length is exceeded')
    // More than a comment holds was printed; its end is shown in a code block.
    const printed = Number(/\(last \d+ of (\d+) bytes\):\n\n```text\n/.exec(comment)?.[1])
    expect(printed, comment.slice(0, 2000)).toBeGreaterThan(65_536)
    expect(comment).toMatch(
      /```text\n[^`]*@octocat see #1 <details>[^`]*\n```\n\nNothing was pushed\.$/,
    )
    expect([...comment].length).toBeLessThanOrEqual(65_536)
    expect(hasBranch(world.remote.bare, `devsys/${task.id}`)).toBe(false)
    expect(world.github.problems()).toEqual([])
  })
})
