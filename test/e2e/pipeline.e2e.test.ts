/**
 * The happy path as a user sees it, end to end: DevSys runs as its own process, receives signed
 * official webhook payloads over HTTP, talks to a GitHub stand-in that checks every request
 * against GitHub's OpenAPI description, clones and pushes over git's smart HTTP, and serves the
 * deployed site over HTTP.
 */
import { describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { useE2eWorld } from './e2e-world.js'
import {
  BLOG_MANIFEST,
  commentsOn,
  deployedStatus,
  fileTaskIssue,
  mergePullRequest,
  TESTS_CHECK,
  testsCompleted,
  waitUntil,
} from './scenario-steps.js'

const hasPhp =
  requireTool('php', 'the deployed blog is served by php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit")

const world = useE2eWorld()

describe.skipIf(!hasPhp)('DevSys as a process, end to end', () => {
  it('issue with the blog manifest → draft PR pushed over git HTTP → its tests pass as `DevSys / tests` → merge → deployed, verified and served', {
    timeout: 300_000,
  }, async () => {
    await world.startDevsys()
    const { github, repo, remote, gitServer } = world

    // 1. A person labels an issue whose body holds the manifest; 2. DevSys pushes devsys/<id>
    //    over git HTTP with the installation token and opens a PR.
    const task = await fileTaskIssue(world, BLOG_MANIFEST)
    const { branch, head } = task
    expect(task.opened.body).toMatchObject({ head: branch, base: 'main', draft: true })
    expect(git(remote.bare, 'ls-tree', '-r', '--name-only', branch)).toContain('post.php')
    const pushes = gitServer.requests.filter((r) => r.url.includes('git-receive-pack'))
    expect(pushes.length).toBeGreaterThan(0)
    expect(
      pushes.every(
        (r) =>
          r.authorization ===
          `basic ${Buffer.from(`x-access-token:${github.token}`).toString('base64')}`,
      ),
    ).toBe(true)

    // 3. The tests run on the PR's head and complete as the check run users see.
    const { run, completed } = await testsCompleted(world, head)
    expect(run, world.logTail()).toMatchObject({
      name: TESTS_CHECK,
      head_sha: head,
      status: 'completed',
      conclusion: 'success',
    })
    expect(completed.body).toMatchObject({ conclusion: 'success' })
    // The draft becomes ready for review once its tests pass, and the task's issue says so.
    await github.waitFor('POST /graphql', { describe: world.logTail })
    expect(repo.state.pulls.get(task.number)?.draft).toBe(false)
    const onIssue = () => commentsOn(world, task.issue).join('\n---\n')
    await waitUntil(world, () => onIssue().includes('ready for review'), 'the issue saying so')
    expect(onIssue()).toContain(`pull request #${task.number}`)
    expect(onIssue()).not.toContain('draft until its tests pass')

    // 4. The PR is merged (as GitHub's merge button does) and GitHub sends the push of main.
    const { merge } = await mergePullRequest(world, task)

    // 5. Deployed to production, verified, and the site answers over HTTP.
    const status = await deployedStatus(world, merge)
    expect(status.state, world.logTail()).toBe('success')
    expect([...repo.state.deployments.values()][0]).toMatchObject({
      ref: merge,
      environment: 'production',
    })
    const page = await httpRequest(`${status.environment_url}/post.php?id=1`)
    expect(page.status).toBe(200)
    expect(page.text).toContain('This is the first post.')

    // Installation tokens came from the configured GitHub (GHE_HOST), and every request DevSys
    // sent was a valid GitHub request to a route GitHub has.
    const tokens = github.requests.filter((r) => r.path === '/app/installations/1234/access_tokens')
    expect(tokens.length).toBeGreaterThan(0)
    expect(github.problems()).toEqual([])
  })
})
