/**
 * Issue 10, item 1, as a user sees it: merging a DevSys PR puts DevSys's bookkeeping files
 * (`.devsys/task.yml`, `.devsys/generated.json`) on `main`, where the default manifest globs
 * (`.devsys/*.yml`, `.devsys/*.json`) would match them. The push of that merge must not get a
 * failed `DevSys / manifest` check run, while a manifest a person pushes to `.devsys/` still
 * does get checked.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type GitHttpServer, startGitHttpServer } from '../git/git-http-server.js'
import { createRemote, git } from '../helpers/git-remote.js'
import { requireTool } from '../helpers/require-tool.js'
import { type DevsysProcess, startDevsysProcess } from './devsys-process.js'
import { fakeRepo, type RepoFake, revParse } from './github-repo-routes.js'
import { type GitHubStandin, startGitHubStandin } from './github-standin.js'
import { labeledIssuePayload, pushPayload, waitForLog } from './scenario-steps.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const MANIFEST_CHECK = 'DevSys / manifest'
const blog = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const blogId = (JSON.parse(blog) as { id: string }).id
const hasPhp =
  requireTool('php', 'the merged blog is deployed with php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit before the merge")

let github: GitHubStandin
let gitServer: GitHttpServer
let remote: { root: string; bare: string }
let repo: RepoFake
let devsys: DevsysProcess | undefined
let cloneUrl: string

beforeEach(async () => {
  github = await startGitHubStandin()
  remote = createRemote()
  gitServer = await startGitHttpServer(remote.root, github.token)
  cloneUrl = `${gitServer.baseUrl}/Hello-World.git`
  repo = fakeRepo({
    owner: OWNER,
    repo: REPO,
    bare: remote.bare,
    cloneUrl,
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
  expect(code ?? 0).toBe(0)
})

const logTail = () => `DevSys output (last 6000 chars):\n${devsys?.output().slice(-6000) ?? ''}`

/** The `DevSys / manifest` check runs on `sha`, as GitHub would show them (latest writes). */
function manifestRuns(sha: string): Record<string, unknown>[] {
  return [...repo.state.checkRuns.values()].filter(
    (c) => c.name === MANIFEST_CHECK && c.head_sha === sha,
  )
}

/** The annotations DevSys sent on `path`, in any check run request. */
function annotationsOn(path: string): unknown[] {
  return github.requests.flatMap((r) => {
    const output = (r.body as { output?: { annotations?: { path?: string }[] } } | undefined)
      ?.output
    return (output?.annotations ?? []).filter((a) => a.path === path)
  })
}

/** Waits for the `intake-push` job of the push of `sha` to finish, and returns its status. */
async function intakeOutcome(sha: string): Promise<unknown> {
  const line = await waitForLog(
    devsys as DevsysProcess,
    (l) =>
      l.kind === 'intake-push' && l.msg === 'Job finished' && String(l.key).endsWith(`@${sha}`),
    `the end of the intake-push job for ${sha}`,
  )
  return line.status
}

/** Sends the push of main from `before` to its current head, as GitHub would. */
async function sendPushOfMain(before: string): Promise<string> {
  const after = revParse(remote.bare, 'main')
  const payload = pushPayload({
    bare: remote.bare,
    ref: 'refs/heads/main',
    before,
    after,
    cloneUrl,
  })
  expect((await (devsys as DevsysProcess).sendWebhook('push', payload)).status).toBe(200)
  return after
}

describe.skipIf(!hasPhp)('the push of a merged DevSys PR, end to end', () => {
  it('gets no failed `DevSys / manifest` check for DevSys’s own `.devsys/` files, while a person’s `.devsys/` manifest is still checked', {
    timeout: 300_000,
  }, async () => {
    devsys = await startDevsysProcess({ gheHost: github.host, env: { LOG_FORMAT: 'json' } })
    const work = join(remote.root, 'work')
    git(remote.root, 'clone', '-q', remote.bare, work)

    // 1. Control: a person pushes a broken manifest under `.devsys/` to main. It is checked,
    //    fails, and is annotated on its own file: pushes to main are checked, and `.devsys/`
    //    matches the default globs, so what follows is not passing for want of a check.
    const brokenPath = '.devsys/broken.yml'
    mkdirSync(join(work, '.devsys'))
    writeFileSync(join(work, brokenPath), 'id: Not A Valid Id\ntitle: 42\n')
    git(work, 'add', '-A')
    git(work, 'commit', '-q', '-m', 'Add a manifest')
    const seed = revParse(remote.bare, 'main')
    git(work, 'push', '-q', 'origin', 'main')
    const control = await sendPushOfMain(seed)
    expect(await intakeOutcome(control), logTail()).toBe('rejected')
    expect(manifestRuns(control)).toMatchObject([{ status: 'completed', conclusion: 'failure' }])
    expect(annotationsOn(brokenPath).length).toBeGreaterThan(0)

    // 2. A person files the blog manifest as an issue; DevSys pushes devsys/<id> with its
    //    bookkeeping files and opens a PR, whose tests pass.
    const received = await devsys.sendWebhook('issues', labeledIssuePayload(blog, cloneUrl))
    expect(received.status).toBe(200)
    await github.waitFor(`POST /repos/${OWNER}/${REPO}/pulls`, { describe: logTail })
    const branch = `devsys/${blogId}`
    const head = revParse(remote.bare, branch)
    const onBranch = git(remote.bare, 'ls-tree', '-r', '--name-only', branch).split('\n')
    expect(onBranch).toEqual(expect.arrayContaining(['.devsys/task.yml', '.devsys/generated.json']))
    await github.waitFor(
      (r) =>
        r.method === 'PATCH' &&
        repo.state.checkRuns.get(Number(r.params.check_run_id))?.name === 'DevSys / tests' &&
        (r.body as { status?: string } | undefined)?.status === 'completed',
      { timeoutMs: 180_000, describe: logTail },
    )
    expect(repo.checkRun('DevSys / tests', head), logTail()).toMatchObject({
      conclusion: 'success',
    })

    // 3. The PR is merged as GitHub's merge button does, and GitHub sends the push of main,
    //    listing every file the merged commits added: the bookkeeping files among them.
    git(work, 'fetch', '-q', 'origin')
    git(work, 'merge', '-q', '--no-ff', '-m', 'Merge pull request #5', `origin/${branch}`)
    git(work, 'push', '-q', 'origin', 'main')
    const merge = revParse(remote.bare, 'main')
    repo.state.merges.set(merge, 5)
    const payload = pushPayload({
      bare: remote.bare,
      ref: 'refs/heads/main',
      before: control,
      after: merge,
      cloneUrl,
    })
    const added = payload.commits.flatMap((c) => c.added ?? [])
    expect(added).toEqual(expect.arrayContaining(['.devsys/task.yml', '.devsys/generated.json']))
    expect((await devsys.sendWebhook('push', payload)).status).toBe(200)

    // 4. Its intake finds no manifest to check: no failed `DevSys / manifest` on main, no
    //    annotation on DevSys's own files; and the merge is deployed.
    expect(await intakeOutcome(merge), logTail()).toBe('skipped')
    const deployed = await github.waitFor(
      (r) =>
        /\/deployments\/\d+\/statuses$/.test(r.path) &&
        ['success', 'failure', 'error'].includes(
          String((r.body as { state?: string } | undefined)?.state),
        ),
      { timeoutMs: 180_000, describe: logTail },
    )
    expect((deployed.body as { state: string }).state, logTail()).toBe('success')
    expect(manifestRuns(merge)).toEqual([])
    const failedManifestChecks = [...repo.state.checkRuns.values()].filter(
      (c) => c.name === MANIFEST_CHECK && c.conclusion === 'failure' && c.head_sha !== control,
    )
    expect(failedManifestChecks).toEqual([])
    expect(annotationsOn('.devsys/task.yml')).toEqual([])
    expect(annotationsOn('.devsys/generated.json')).toEqual([])

    // Every request DevSys sent was a valid GitHub request to a route GitHub has.
    expect(github.problems()).toEqual([])
  })
})
