/**
 * Issue 17, as a user sees it, against DevSys as its own process: a team writes its feature with
 * Spec Kit and commits `specs/001-blog/spec.md` (with `plan.md` beside it), then labels an issue
 * that names it. DevSys opens a pull request that shows what it understood, scenario by
 * scenario; its tests pass; the merge is deployed and the acceptance checks the scenarios became
 * pass against the live site. A spec with open questions is refused first, with their places.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'
import { requireTool } from '../helpers/require-tool.js'
import { testLabel } from '../intake/harness.js'
import { commitOnMain } from './agent-steps.js'
import { OWNER, REPO, useE2eWorld } from './e2e-world.js'
import { revParse } from './github-repo-routes.js'
import {
  commentsOn,
  deployedStatus,
  mergePullRequest,
  testsCompleted,
  waitUntil,
} from './scenario-steps.js'

const hasPhp =
  requireTool('php', 'the deployed blog is served by php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit before the merge")

const world = useE2eWorld()
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/specs/${name}`, import.meta.url), 'utf8')

/** `issues.labeled` for issue #1 whose body is `body`, or `issues.edited` from `before`. */
function issuePayload(action: 'labeled' | 'edited', body: string, before?: string) {
  return examplePayload('issues', action, (p) => {
    p.issue.body = body
    p.issue.labels = [testLabel('devsys')]
    if (action === 'labeled') (p as { label?: unknown }).label = testLabel('devsys')
    else (p as { changes?: unknown }).changes = { body: { from: before ?? '' } }
    p.repository.clone_url = world.cloneUrl
    p.repository.default_branch = 'main'
  })
}

describe.skipIf(!hasPhp)('a Spec Kit spec named by an issue, end to end', () => {
  it('refuses the spec with open questions at their lines, then builds, tests and deploys the answered one', {
    timeout: 420_000,
  }, async () => {
    const { github, logTail } = world
    // 1. The spec still has open questions and placeholders: refused, each at its line:column.
    commitOnMain(world, { 'specs/001-blog/spec.md': fixture('open-markers.spec.md') }, 'Draft')
    const devsys = await world.startDevsys()
    const named = 'Please build this.\n\nspec: specs/001-blog/spec.md\n'
    expect((await devsys.sendWebhook('issues', issuePayload('labeled', named))).status).toBe(200)
    const issue = Number(issuePayload('labeled', named).issue.number)
    await waitUntil(world, () => commentsOn(world, issue).length > 0, 'the answer on the issue')
    const refusal = commentsOn(world, issue).join('\n')
    expect(refusal, logTail()).toMatch(/specs\/001-blog\/spec\.md/)
    expect(refusal).toMatch(/32:52/) // the [NEEDS CLARIFICATION: …] marker
    expect(refusal).toMatch(/1:26/) // [FEATURE NAME] in the title

    // 2. Answered, with plan.md beside it, and the issue edited to say so: the same comment,
    //    now a task.
    commitOnMain(
      world,
      {
        'specs/001-blog/spec.md': fixture('001-blog/spec.md'),
        'specs/001-blog/plan.md': fixture('001-blog/plan.md'),
      },
      'Answer the open questions',
    )
    const answered = `${named}\nThe open questions are answered.\n`
    const edited = await devsys.sendWebhook('issues', issuePayload('edited', answered, named))
    expect(edited.status).toBe(200)
    const opened = await github.waitFor(`POST /repos/${OWNER}/${REPO}/pulls`, {
      describe: logTail,
    })
    const body = String((opened.body as { body?: unknown }).body)
    // What DevSys understood: the scenarios that became checks, and those left to the reviewer.
    expect(body).toMatch(/What DevSys understood/)
    expect(body).toMatch(/GET \/post\.php\?id=999/)
    expect(body).toMatch(/- \[ \] .*older posts are listed/)
    expect(commentsOn(world, issue)).toHaveLength(1)

    // 3. Tests pass, the merge is deployed, and the checks from the scenarios pass live.
    const branch = 'devsys/001-blog'
    const head = revParse(world.remote.bare, branch)
    const { run } = await testsCompleted(world, head)
    expect(run, logTail()).toMatchObject({ status: 'completed', conclusion: 'success' })
    const number = [...world.repo.state.pulls.entries()].find(([, p]) => p.head === branch)?.[0]
    if (number === undefined) throw new Error('no pull request of devsys/001-blog')
    const { merge } = await mergePullRequest(world, { branch, number })
    const status = await deployedStatus(world, merge)
    expect(status.state, logTail()).toBe('success')
    const site = String(status.environment_url)
    expect((await httpRequest(`${site}/`)).text).toContain('Hello, world')
    expect((await httpRequest(`${site}/post.php?id=999`)).status).toBe(404)
    expect(github.problems()).toEqual([])
  })
})
