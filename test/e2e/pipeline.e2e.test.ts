/**
 * The happy path as a user sees it, end to end: DevSys runs as its own process, receives signed
 * official webhook payloads over HTTP, talks to a GitHub stand-in that checks every request
 * against GitHub's OpenAPI description, clones and pushes over git's smart HTTP, and serves the
 * deployed site over HTTP.
 */
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type GitHttpServer, startGitHttpServer } from '../git/git-http-server.js'
import { createRemote, git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'
import { requireTool } from '../helpers/require-tool.js'
import { testLabel } from '../intake/harness.js'
import { type DevsysProcess, startDevsysProcess } from './devsys-process.js'
import { fakeRepo, type RepoFake, revParse } from './github-repo-routes.js'
import { type GitHubStandin, startGitHubStandin } from './github-standin.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const blog = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const blogId = (JSON.parse(blog) as { id: string }).id
const hasPhp =
  requireTool('php', 'the deployed blog is served by php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit")

let github: GitHubStandin
let gitServer: GitHttpServer
let remote: { root: string; bare: string }
let repo: RepoFake
let devsys: DevsysProcess | undefined

beforeEach(async () => {
  github = await startGitHubStandin()
  remote = createRemote()
  gitServer = await startGitHttpServer(remote.root, github.token)
  repo = fakeRepo({
    owner: OWNER,
    repo: REPO,
    bare: remote.bare,
    cloneUrl: `${gitServer.baseUrl}/Hello-World.git`,
    apiUrl: github.apiUrl,
  })
  github.routes(...repo.routes)
})

afterEach(async () => {
  const code = await devsys?.stop()
  devsys = undefined
  await gitServer.close()
  await github.close()
  rmSync(remote.root, { recursive: true, force: true })
  // A clean SIGTERM stop is part of the contract (deploys served again on restart, no lost job).
  expect(code ?? 0).toBe(0)
})

/** What DevSys printed, for failure messages. */
const logTail = () => `DevSys output (last 6000 chars):\n${devsys?.output().slice(-6000) ?? ''}`

describe.skipIf(!hasPhp)('DevSys as a process, end to end', () => {
  it('issue with the blog manifest → draft PR pushed over git HTTP → its tests pass as `DevSys / tests` → merge → deployed, verified and served', {
    timeout: 300_000,
  }, async () => {
    devsys = await startDevsysProcess({ gheHost: github.host })
    const cloneUrl = `${gitServer.baseUrl}/Hello-World.git`

    // 1. A person labels an issue whose body holds the manifest.
    const issue = examplePayload('issues', 'labeled', (p) => {
      p.issue.body = `\`\`\`json\n${blog}\n\`\`\``
      p.label = testLabel('devsys')
      p.issue.labels = [testLabel('devsys')]
      p.repository.clone_url = cloneUrl
      p.repository.default_branch = 'main'
    })
    const received = await devsys.sendWebhook('issues', issue)
    expect(received.status).toBe(200)

    // 2. DevSys pushes devsys/<id> over git HTTP with the installation token and opens a PR.
    const pr = await github.waitFor(`POST /repos/${OWNER}/${REPO}/pulls`, { describe: logTail })
    const branch = `devsys/${blogId}`
    expect(pr.body).toMatchObject({ head: branch, base: 'main', draft: true })
    const head = revParse(remote.bare, branch)
    expect(head).toMatch(/^[0-9a-f]{40}$/)
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
    const completed = await github.waitFor(
      (r) =>
        r.method === 'PATCH' &&
        /\/check-runs\/\d+$/.test(r.path) &&
        (r.body as { status?: string } | undefined)?.status === 'completed',
      { timeoutMs: 180_000, describe: logTail },
    )
    const tests = repo.checkRun('DevSys / tests', head)
    expect(tests, logTail()).toMatchObject({
      head_sha: head,
      status: 'completed',
      conclusion: 'success',
    })
    expect(completed.body).toMatchObject({ conclusion: 'success' })
    // The draft becomes ready for review once its tests pass.
    await github.waitFor('POST /graphql', { describe: logTail })
    expect(repo.state.pulls.get(5)?.draft).toBe(false)

    // 4. The PR is merged (as GitHub's merge button does) and GitHub sends the push of main.
    const work = join(remote.root, 'merge')
    git(remote.root, 'clone', '-q', remote.bare, work)
    git(work, 'merge', '-q', '--no-ff', '-m', 'Merge pull request #5', `origin/${branch}`)
    git(work, 'push', '-q', 'origin', 'main')
    const merge = git(work, 'rev-parse', 'HEAD')
    repo.state.merges.set(merge, 5)
    const push = examplePayload('push', undefined, (p) => {
      p.ref = 'refs/heads/main'
      p.before = revParse(remote.bare, 'main^1')
      p.after = merge
      p.deleted = false
      p.repository.clone_url = cloneUrl
      p.repository.default_branch = 'main'
      p.repository.master_branch = 'main'
    })
    expect((await devsys.sendWebhook('push', push)).status).toBe(200)

    // 5. Deployed to production, verified, and the site answers over HTTP.
    const live = await github.waitFor(
      (r) =>
        /\/deployments\/\d+\/statuses$/.test(r.path) &&
        ['success', 'failure', 'error'].includes(
          String((r.body as { state?: string } | undefined)?.state),
        ),
      { timeoutMs: 180_000, describe: logTail },
    )
    const status = live.body as { state: string; environment_url: string }
    expect(status.state, logTail()).toBe('success')
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
