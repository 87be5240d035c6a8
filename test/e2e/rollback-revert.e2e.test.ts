/**
 * Issue 10, items 2 and 3, as a user sees them, after a task's merge was the first deploy of
 * production:
 * - a person reverts the merge on `main`: DevSys deploys that revert as it is (the task's checks
 *   do not apply to a tree without the task) and never pushes a revert of the person's revert;
 * - a person comments `/rollback` on the merged PR: with no earlier release to switch back to,
 *   DevSys reverts the merge on `main` itself and says so, instead of advising the person to.
 */
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type GitHttpServer, startGitHttpServer } from '../git/git-http-server.js'
import { createRemote, git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'
import { requireTool } from '../helpers/require-tool.js'
import { type DevsysProcess, startDevsysProcess } from './devsys-process.js'
import { fakeRepo, type RepoFake, revParse } from './github-repo-routes.js'
import { type GitHubStandin, startGitHubStandin } from './github-standin.js'
import { labeledIssuePayload, pushPayload } from './scenario-steps.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const blog = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const blogId = (JSON.parse(blog) as { id: string }).id
const hasPhp =
  requireTool('php', 'the deployed blog is served by php -S') &&
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

const FINAL_STATES = ['success', 'failure', 'error']

/** Waits until a deployment of `sha` has a final status, and returns that status. */
async function deployedStatus(sha: string, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const d of repo.state.deployments.values()) {
      if (d.ref !== sha) continue
      const final = d.statuses.find((s) => FINAL_STATES.includes(String(s.state)))
      if (final) return final as { state: string; environment_url?: string }
    }
    if (Date.now() > deadline) {
      throw new Error(`No deployment of ${sha} reached a final status.\n${logTail()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * The happy path up to the first deploy of production: issue → PR whose tests pass → merge
 * (as GitHub's merge button does) → push of main → deployed and served.
 */
async function mergeAndDeployBlog(d: DevsysProcess) {
  const work = join(remote.root, 'work')
  git(remote.root, 'clone', '-q', remote.bare, work)
  const seed = revParse(remote.bare, 'main')
  const received = await d.sendWebhook('issues', labeledIssuePayload(blog, cloneUrl))
  expect(received.status).toBe(200)
  await github.waitFor(`POST /repos/${OWNER}/${REPO}/pulls`, { describe: logTail })
  const branch = `devsys/${blogId}`
  const head = revParse(remote.bare, branch)
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
  git(work, 'fetch', '-q', 'origin')
  git(work, 'merge', '-q', '--no-ff', '-m', 'Merge pull request #5', `origin/${branch}`)
  git(work, 'push', '-q', 'origin', 'main')
  const merge = revParse(remote.bare, 'main')
  repo.state.merges.set(merge, 5)
  const mergePush = pushPayload({
    bare: remote.bare,
    ref: 'refs/heads/main',
    before: seed,
    after: merge,
    cloneUrl,
  })
  expect((await d.sendWebhook('push', mergePush)).status).toBe(200)
  const first = await deployedStatus(merge)
  expect(first.state, logTail()).toBe('success')
  const site = String(first.environment_url)
  const live = await httpRequest(`${site}/post.php?id=1`)
  expect(live.status).toBe(200)
  expect(live.text).toContain('This is the first post.')
  return { work, seed, merge, site }
}

/** Waits until `check` holds (polling), or fails with `what` and DevSys's output. */
async function waitUntil(check: () => boolean, what: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen.\n${logTail()}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** Every comment body DevSys wrote or edited on PR #5, in order. */
function commentsSentOnPr(): string[] {
  return github.requests.flatMap((r) => {
    const text = (r.body as { body?: unknown } | undefined)?.body
    if (typeof text !== 'string') return []
    if (r.method === 'POST' && r.path.endsWith('/issues/5/comments')) return [text]
    if (r.method === 'PATCH' && /\/issues\/comments\/\d+$/.test(r.path)) {
      const kept = repo.state.comments.get(Number(r.params.comment_id))
      return kept?.issue === 5 ? [text] : []
    }
    return []
  })
}

describe.skipIf(!hasPhp)('after the first deploy of production, end to end', () => {
  it('a person reverts the merge: DevSys deploys the revert, the task’s page is gone, and DevSys never reverts the person’s revert', {
    timeout: 420_000,
  }, async () => {
    devsys = await startDevsysProcess({ gheHost: github.host, env: { LOG_FORMAT: 'json' } })
    const { work, merge, site } = await mergeAndDeployBlog(devsys)

    // 1. A person reverts the merge on main and GitHub sends the push.
    git(work, 'revert', '--no-edit', '-m', '1', merge)
    git(work, 'push', '-q', 'origin', 'main')
    const revert = revParse(remote.bare, 'main')
    expect(revert).not.toBe(merge)
    const revertPush = pushPayload({
      bare: remote.bare,
      ref: 'refs/heads/main',
      before: merge,
      after: revert,
      cloneUrl,
    })
    const removed = revertPush.commits.flatMap((c) => c.removed ?? [])
    expect(removed.some((path) => path.endsWith('post.php'))).toBe(true)
    expect((await devsys.sendWebhook('push', revertPush)).status).toBe(200)

    // 2. DevSys deploys the person's revert: the task's checks are not run against a tree
    //    without the task, so the deploy succeeds and the blog page is gone from the site.
    const second = await deployedStatus(revert)
    expect(second.state, logTail()).toBe('success')
    const gone = await httpRequest(`${String(second.environment_url || site)}/post.php?id=1`)
    expect(gone.status).toBe(404)

    // 3. DevSys leaves main alone: after a while, main is still the person's revert, and no
    //    other commit was deployed.
    await new Promise((resolve) => setTimeout(resolve, 10_000))
    expect(revParse(remote.bare, 'main'), logTail()).toBe(revert)
    const refs = [...repo.state.deployments.values()].map((d) => d.ref)
    expect(
      refs.every((ref) => ref === merge || ref === revert),
      logTail(),
    ).toBe(true)

    // Every request DevSys sent was a valid GitHub request to a route GitHub has.
    expect(github.problems()).toEqual([])
  })

  it('`/rollback` on the merged PR: DevSys reverts the merge on main itself, says what it did, and the revert deploys the site back to before the task', {
    timeout: 420_000,
  }, async () => {
    devsys = await startDevsysProcess({ gheHost: github.host, env: { LOG_FORMAT: 'json' } })
    const { seed, merge, site } = await mergeAndDeployBlog(devsys)

    // GitHub now shows PR #5 merged.
    const base = `/repos/${OWNER}/${REPO}`
    const original = repo.routes.find((r) => r.route === `GET ${base}/pulls/{pull_number}`)
    if (original === undefined) throw new Error('the repository fake has no GET pull route')
    github.routes({
      route: `GET ${base}/pulls/{pull_number}`,
      reply: async (r) => {
        const answer = await original.reply(r)
        if (answer.status !== 200 || r.params.pull_number !== '5') return answer
        return {
          ...answer,
          body: {
            ...(answer.body as object),
            state: 'closed',
            merged: true,
            merged_at: '2025-01-01T00:00:00Z',
            merge_commit_sha: merge,
            head: {
              ...(answer.body as { head: object }).head,
              repo: { full_name: `${OWNER}/${REPO}`, name: REPO, owner: { login: OWNER } },
            },
          },
        }
      },
    })

    // 1. A person with write permission comments `/rollback` on the merged PR.
    const comment = examplePayload('issue_comment', 'created', (p) => {
      p.issue.number = 5
      p.issue.pull_request = {
        url: `${github.apiUrl}${base}/pulls/5`,
        html_url: `https://github.example.test/${OWNER}/${REPO}/pull/5`,
        diff_url: `https://github.example.test/${OWNER}/${REPO}/pull/5.diff`,
        patch_url: `https://github.example.test/${OWNER}/${REPO}/pull/5.patch`,
        merged_at: '2025-01-01T00:00:00Z',
      }
      p.comment.body = '/rollback'
      p.comment.id = 3001
      p.comment.user = { ...p.comment.user, login: 'mona', type: 'User' } as typeof p.comment.user
      p.sender = { ...p.sender, login: 'mona', type: 'User' }
      p.repository.clone_url = cloneUrl
      p.repository.default_branch = 'main'
    })
    expect((await devsys.sendWebhook('issue_comment', comment)).status).toBe(200)
    await github.waitFor(`GET ${base}/collaborators/{username}/permission`, {
      describe: logTail,
    })

    // 2. DevSys reverts the merge on main (not protected here): a new commit on main whose tree
    //    is main's before the merge.
    await waitUntil(() => revParse(remote.bare, 'main') !== merge, 'a revert of the merge on main')
    const revert = revParse(remote.bare, 'main')
    expect(revert, logTail()).not.toBe(merge)
    expect(git(remote.bare, 'rev-parse', `${revert}^1`)).toBe(merge)
    expect(git(remote.bare, 'rev-parse', `${revert}^{tree}`)).toBe(
      git(remote.bare, 'rev-parse', `${seed}^{tree}`),
    )

    // 3. Its answer on the PR says what DevSys did, and never advises the person to revert.
    await waitUntil(
      () => commentsSentOnPr().some((text) => text.includes(revert.slice(0, 7))),
      'a comment on PR #5 naming the revert',
    )
    const said = commentsSentOnPr()
    expect(
      said.some((text) => /Rolling back/.test(text)),
      said.join('\n---\n'),
    ).toBe(true)
    expect(said.filter((text) => /Revert the merge/i.test(text))).toEqual([])

    // 4. GitHub sends the push of the revert; its deploy takes the site to before the task.
    const revertPush = pushPayload({
      bare: remote.bare,
      ref: 'refs/heads/main',
      before: merge,
      after: revert,
      cloneUrl,
    })
    expect((await devsys.sendWebhook('push', revertPush)).status).toBe(200)
    const second = await deployedStatus(revert)
    expect(second.state, logTail()).toBe('success')
    const gone = await httpRequest(`${String(second.environment_url || site)}/post.php?id=1`)
    expect(gone.status).toBe(404)
    expect(revParse(remote.bare, 'main'), logTail()).toBe(revert)

    expect(github.problems()).toEqual([])
  })
})
