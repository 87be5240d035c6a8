/**
 * The real opencode CLI as DevSys's coding agent, end to end: DevSys as its own process with
 * AGENT_BASE_URL pointing at a scripted fake model server, a repository whose
 * `.github/devsys.yml` selects `kind: agent, agent: opencode`, an issue holding a manifest. The
 * agent writes files with its own tools in the sandbox; DevSys commits, pushes, runs the task's
 * tests per iteration and opens the pull request.
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

/** opencode's `write` tool, with a path relative to the work tree. */
const write = (filePath: string, content: string) => ({
  name: 'write',
  args: { filePath, content },
})

const world = useE2eWorld()
const model = useFakeModel(world)

describe.skipIf(!hasSandbox)(
  'opencode as the coding agent, end to end',
  { timeout: 180_000 },
  () => {
    it('issue with a manifest → opencode writes the files → PR on devsys/<task> with them, tests green, ready, its activity shown', async () => {
      const marker = newMarker()
      const task = greetManifest(marker)
      commitOnMain(world, { '.github/devsys.yml': agentConfig('opencode', 2) }, 'Use opencode')
      const fake = await model.start([
        { tools: [write('tests/run.sh', TEST_SUITE)] },
        { tools: [write('greet.sh', 'echo Hello\n')] },
        { text: 'The greeting is written.' },
      ])

      // 1. The issue → the branch pushed and the PR opened, ready: its tests passed in the loop.
      const opened = await fileTaskIssue(world, task.text)
      expect(opened.branch).toBe(`devsys/${task.id}`)
      expect(opened.opened.body).toMatchObject({ head: opened.branch, base: 'main', draft: false })
      expect(world.repo.state.pulls.get(opened.number)?.draft).toBe(false)

      // 2. The files are what the agent wrote, in one commit on top of main.
      const { bare } = world.remote
      expect(branchCommits(bare, opened.branch)).toEqual([opened.head])
      expect(git(bare, 'show', `${opened.branch}:greet.sh`)).toBe('echo Hello')
      expect(`${git(bare, 'show', `${opened.branch}:tests/run.sh`)}\n`).toBe(TEST_SUITE)

      // 3. The tests ran on that commit as `DevSys / tests`, green.
      expect(world.repo.checkRun(TESTS_CHECK, opened.head), world.logTail()).toMatchObject({
        status: 'completed',
        conclusion: 'success',
      })

      // 4. The PR's body and its status comment show what the agent did: tool calls and tokens
      //    (three model turns of 1,234 input and 56 output tokens).
      const body = world.repo.state.pulls.get(opened.number)?.body ?? ''
      const activity =
        '<details><summary>Agent activity: 2 steps, 3,702 input and 168 output tokens</summary>'
      expect(body, world.logTail()).toContain(activity)
      expect(body).toContain('1. `write` tests/run.sh')
      expect(body).toContain('2. `write` greet.sh')
      expect(body).toContain('The tests pass on the first iteration.')
      await waitUntil(
        world,
        () => commentsOn(world, opened.number).some((c) => c.includes(activity)),
        'the status comment showing the agent activity',
      )

      // 5. The model got the task and the real key (added by DevSys's proxy); the key reached
      //    neither GitHub nor DevSys's log.
      expect(requestTexts(fake)[0]).toContain(`A greeting ${marker}`)
      for (const request of fake.modelRequests()) {
        expect(request.headers.authorization).toBe(`Bearer ${AGENT_KEY}`)
      }
      expect(JSON.stringify(world.github.requests.map((r) => r.body))).not.toContain(AGENT_KEY)
      expect(world.devsys.output()).not.toContain(AGENT_KEY)
      expect(world.github.problems()).toEqual([])
    })

    it('a failing first iteration fixed by the second: red then green check runs, 2 commits, PR ready', async () => {
      const task = greetManifest(newMarker())
      commitOnMain(world, { '.github/devsys.yml': agentConfig('opencode', 2) }, 'Use opencode')
      const fake = await model.start([
        { tools: [write('tests/run.sh', TEST_SUITE)] },
        { tools: [write('greet.sh', 'echo Helo\n')] },
        { text: 'Done.' },
        { tools: [write('greet.sh', 'echo Hello\n')] },
        { text: 'Fixed.' },
      ])

      const opened = await fileTaskIssue(world, task.text)
      expect(opened.opened.body).toMatchObject({ head: opened.branch, draft: false })
      const commits = branchCommits(world.remote.bare, opened.branch)
      expect(commits, world.logTail()).toHaveLength(2)
      expect(commits[1]).toBe(opened.head)
      expect(testsConclusion(world, commits[0] as string)).toBe('failure')
      expect(testsConclusion(world, commits[1] as string)).toBe('success')
      const texts = requestTexts(fake)
      expect(texts).toHaveLength(5)
      expect(texts.slice(0, 3).join('\n')).not.toContain('expected Hello, got Helo')
      expect(texts[3]).toContain('says hello')
      expect(texts[3]).toContain('expected Hello, got Helo')
      expect(world.repo.state.pulls.get(opened.number)?.body).toContain(
        'The tests pass after 2 iterations',
      )
      expect(world.github.problems()).toEqual([])
    })

    it('tests that still fail after maxIterations 2 → a draft PR with the remaining failures, the plain message, nothing left running', async () => {
      const marker = newMarker()
      const task = greetManifest(marker)
      commitOnMain(world, { '.github/devsys.yml': agentConfig('opencode', 2) }, 'Use opencode')
      const fake = await model.start([
        // Iteration 1: the suite and a wrong greeting.
        { tools: [write('tests/run.sh', TEST_SUITE)] },
        { tools: [write('greet.sh', 'echo Helo\n')] },
        { text: 'Done.' },
        // Iteration 2: another wrong greeting.
        { tools: [write('greet.sh', 'echo Hallo\n')] },
        { text: 'Fixed.' },
      ])

      // 1. After two iterations the PR is opened as a draft.
      const opened = await fileTaskIssue(world, task.text)
      expect(opened.opened.body).toMatchObject({ head: opened.branch, draft: true })
      const commits = branchCommits(world.remote.bare, opened.branch)
      expect(commits, world.logTail()).toHaveLength(2)
      expect(git(world.remote.bare, 'show', `${opened.branch}:greet.sh`)).toBe('echo Hallo')

      // 2. Each iteration's commit has its failing check run.
      for (const sha of commits) expect(testsConclusion(world, sha)).toBe('failure')

      // 3. The PR says plainly that the budget is spent, and what still fails.
      const body = world.repo.state.pulls.get(opened.number)?.body ?? ''
      expect(body, world.logTail()).toContain(
        '**The tests still fail after 2 iterations**, the limit (`generator.maxIterations`)',
      )
      expect(body).toContain('leaves the pull request as a draft')
      expect(body).toMatch(/Still failing:\n- `[^`]*says hello`: expected Hello, got Hallo/)
      expect(world.repo.state.pulls.get(opened.number)?.draft).toBe(true)

      // The status comment on the PR says the same, and whose run its summary line describes.
      await waitUntil(
        world,
        () => commentsOn(world, opened.number).some((c) => c.includes('**The tests still fail')),
        'the status comment',
      )
      const status = commentsOn(world, opened.number).join('\n')
      expect(status).toContain('Iteration 2: Ran opencode (fake-coder-1): 1 tool call, ')
      expect(status).toContain('- `greet › says hello`: expected Hello, got Hallo')

      // 4. The second run (the fourth model turn) was told why the first failed; the first was not.
      const texts = requestTexts(fake)
      expect(texts).toHaveLength(5)
      expect(texts.slice(0, 3).join('\n')).not.toContain('expected Hello, got Helo')
      expect(texts[3]).toContain('## Failing tests (data)')
      expect(texts[3]).toContain('says hello')
      expect(texts[3]).toContain('expected Hello, got Helo')

      // 5. Nothing is left running: no agent process (its prompt holds the marker).
      expect(processesWith(marker)).toEqual([])
      expect(world.github.problems()).toEqual([])
    })

    it('a 4xx from the model → a clear message on the issue, nothing pushed', async () => {
      const marker = newMarker()
      const task = greetManifest(marker)
      commitOnMain(world, { '.github/devsys.yml': agentConfig('opencode', 2) }, 'Use opencode')
      await model.start([{ status: 401, message: 'Incorrect API key provided: sk-fa****' }])

      const issue = labeledIssuePayload(task.text, world.cloneUrl)
      expect((await world.devsys.sendWebhook('issues', issue)).status).toBe(200)
      const said = () => commentsOn(world, issue.issue.number).join('\n---\n')
      await waitUntil(world, () => said().includes('could not generate'), 'the issue saying so')

      expect(said()).toContain(`DevSys could not generate \`${task.id}\``)
      expect(said()).toContain('Incorrect API key provided')
      expect(said()).toContain('AGENT_API_KEY')
      expect(said()).toContain('Nothing was pushed.')
      expect(said()).not.toContain(AGENT_KEY)
      expect(hasBranch(world.remote.bare, `devsys/${task.id}`)).toBe(false)
      expect(world.github.requests.some((r) => r.path === `/repos/${OWNER}/${REPO}/pulls`)).toBe(
        false,
      )
      expect(processesWith(marker)).toEqual([])
      expect(world.github.problems()).toEqual([])
    })
  },
)
