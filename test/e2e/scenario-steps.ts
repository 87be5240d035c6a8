/**
 * Steps several end-to-end scenarios share: the webhook payloads a person's actions make GitHub
 * send (a labeled issue holding a manifest, a push with the files each commit changed, a
 * comment), the happy path from an issue to a deployed merge, and waiting for what DevSys
 * logged or GitHub shows.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { examplePayload } from '../helpers/payloads.js'
import { testLabel } from '../intake/harness.js'
import type { DevsysProcess } from './devsys-process.js'
import { type E2eWorld, OWNER, REPO } from './e2e-world.js'
import { revParse } from './github-repo-routes.js'

/** The blog manifest of specs/ (PHP pages and their PHPUnit tests), as text. */
export const BLOG_MANIFEST = readFileSync(
  new URL('../../specs/create-blog.json', import.meta.url),
  'utf8',
)
export const TESTS_CHECK = 'DevSys / tests'
const FINAL_STATES = ['success', 'failure', 'error']

/** `issues.labeled` for an issue whose body holds `manifest` (JSON text) in a code block. */
export function labeledIssuePayload(manifest: string, cloneUrl: string) {
  return examplePayload('issues', 'labeled', (p) => {
    p.issue.body = `\`\`\`json\n${manifest}\n\`\`\``
    p.label = testLabel('devsys')
    p.issue.labels = [testLabel('devsys')]
    p.repository.clone_url = cloneUrl
    p.repository.default_branch = 'main'
  })
}

/**
 * The `push` GitHub sends when `ref` moves from `before` to `after` in the bare repository:
 * one entry per pushed commit (oldest first) with the paths it added, removed and modified
 * against its first parent, as GitHub lists them, and `head_commit` the last.
 */
export function pushPayload(opts: {
  bare: string
  ref: string
  before: string
  after: string
  cloneUrl: string
}) {
  const shas = git(opts.bare, 'rev-list', '--reverse', `${opts.before}..${opts.after}`)
    .split('\n')
    .filter((s) => s !== '')
  const commits = shas.map((sha) => {
    const changes = git(
      opts.bare,
      'diff-tree',
      '-r',
      '--name-status',
      '--no-commit-id',
      `${sha}^1`,
      sha,
    )
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t') as [string, string])
    const paths = (status: string) => changes.filter(([s]) => s === status).map(([, p]) => p)
    const person = {
      name: 'Monalisa Octocat',
      email: 'mona@github.example.test',
      username: 'octocat',
    }
    return {
      id: sha,
      tree_id: git(opts.bare, 'rev-parse', `${sha}^{tree}`),
      distinct: true,
      message: git(opts.bare, 'log', '-1', '--format=%s', sha),
      timestamp: '2025-01-01T00:00:00Z',
      url: `https://github.example.test/Codertocat/Hello-World/commit/${sha}`,
      author: person,
      committer: person,
      added: paths('A'),
      removed: paths('D'),
      modified: paths('M'),
    }
  })
  return examplePayload('push', undefined, (p) => {
    p.ref = opts.ref
    p.before = opts.before
    p.after = opts.after
    p.deleted = false
    p.created = false
    p.commits = commits
    p.head_commit = commits.at(-1) ?? null
    p.repository.clone_url = opts.cloneUrl
    p.repository.default_branch = 'main'
    p.repository.master_branch = 'main'
  })
}

/** DevSys's JSON log lines so far, parsed (lines that are not JSON are left out). */
export function logLines(devsys: DevsysProcess): Record<string, unknown>[] {
  return devsys
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown
        return typeof parsed === 'object' && parsed !== null
          ? [parsed as Record<string, unknown>]
          : []
      } catch {
        return []
      }
    })
}

/** Waits until DevSys logs a line matching `match` (60 s by default) and returns it. */
export async function waitForLog(
  devsys: DevsysProcess,
  match: (line: Record<string, unknown>) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = logLines(devsys).find(match)
    if (found) return found
    if (Date.now() > deadline) {
      throw new Error(
        `DevSys did not log ${what} within ${timeoutMs} ms. Its output (last 6000 chars):\n${devsys.output().slice(-6000)}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/**
 * A person labels an issue holding `manifest`; waits until DevSys pushed `devsys/<id>` and
 * opened its pull request. Returns the branch, its head, the PR's number and the issue's.
 */
export async function fileTaskIssue(world: E2eWorld, manifest: string) {
  const issue = labeledIssuePayload(manifest, world.cloneUrl)
  const received = await world.devsys.sendWebhook('issues', issue)
  expect(received.status).toBe(200)
  const opened = await world.github.waitFor(`POST /repos/${OWNER}/${REPO}/pulls`, {
    describe: world.logTail,
  })
  const taskId = (JSON.parse(manifest) as { id: string }).id
  const branch = `devsys/${taskId}`
  const head = revParse(world.remote.bare, branch)
  expect(head, world.logTail()).toMatch(/^[0-9a-f]{40}$/)
  const number = [...world.repo.state.pulls.entries()].find(([, p]) => p.head === branch)?.[0]
  if (number === undefined) throw new Error(`no pull request of ${branch} in the fake`)
  return { taskId, branch, head, number, opened, issue: issue.issue.number }
}

/**
 * Waits until DevSys completes `DevSys / tests` (the PATCH that says so), and returns the check
 * run on `head` as GitHub shows it then.
 */
export async function testsCompleted(world: E2eWorld, head: string, timeoutMs = 180_000) {
  const completed = await world.github.waitFor(
    (r) =>
      r.method === 'PATCH' &&
      world.repo.state.checkRuns.get(Number(r.params.check_run_id))?.name === TESTS_CHECK &&
      (r.body as { status?: string } | undefined)?.status === 'completed',
    { timeoutMs, describe: world.logTail },
  )
  return { run: world.repo.checkRun(TESTS_CHECK, head), completed }
}

/**
 * Merges `branch` into main as GitHub's merge button does (a merge commit pushed to the bare
 * repository), shows PR `number` merged, and sends the push of main GitHub sends then.
 * Returns main before and after, the push payload, and the work tree the merge was made in.
 */
export async function mergePullRequest(world: E2eWorld, pr: { branch: string; number: number }) {
  const work = join(world.remote.root, 'work')
  if (existsSync(work)) {
    git(work, 'fetch', '-q', 'origin')
    git(work, 'checkout', '-q', 'main')
    git(work, 'reset', '-q', '--hard', 'origin/main')
  } else {
    git(world.remote.root, 'clone', '-q', world.remote.bare, work)
  }
  const before = revParse(world.remote.bare, 'main')
  git(
    work,
    'merge',
    '-q',
    '--no-ff',
    '-m',
    `Merge pull request #${pr.number}`,
    `origin/${pr.branch}`,
  )
  git(work, 'push', '-q', 'origin', 'main')
  const merge = revParse(world.remote.bare, 'main')
  world.repo.merge(pr.number, merge)
  const push = pushPayload({
    bare: world.remote.bare,
    ref: 'refs/heads/main',
    before,
    after: merge,
    cloneUrl: world.cloneUrl,
  })
  expect((await world.devsys.sendWebhook('push', push)).status).toBe(200)
  return { before, merge, push, work }
}

/** Waits until a deployment of `sha` has a final status, and returns that status's body. */
export async function deployedStatus(world: E2eWorld, sha: string, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const d of world.repo.state.deployments.values()) {
      if (d.ref !== sha) continue
      const final = d.statuses.find((s) => FINAL_STATES.includes(String(s.state)))
      if (final) return final as { state: string; environment_url?: string }
    }
    if (Date.now() > deadline) {
      throw new Error(`No deployment of ${sha} reached a final status.\n${world.logTail()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * The happy path up to a deploy of production: issue with `manifest` (the blog by default) →
 * PR whose `DevSys / tests` pass → merge → push of main → deployed, verified and served.
 * `onDeployed`, when given, runs when GitHub is sent the deploy's `success` (before DevSys
 * writes anything after it), as a person who acts the moment GitHub shows it.
 */
export async function mergeAndDeploy(
  world: E2eWorld,
  opts: {
    manifest?: string
    onDeployed?: (task: { number: number; branch: string }) => Promise<void>
  } = {},
) {
  const seed = revParse(world.remote.bare, 'main')
  const task = await fileTaskIssue(world, opts.manifest ?? BLOG_MANIFEST)
  const { run } = await testsCompleted(world, task.head)
  expect(run, world.logTail()).toMatchObject({ status: 'completed', conclusion: 'success' })
  const { onDeployed } = opts
  if (onDeployed !== undefined) onDeploymentSuccess(world, () => onDeployed(task))
  const { merge, work } = await mergePullRequest(world, task)
  const status = await deployedStatus(world, merge)
  expect(status.state, world.logTail()).toBe('success')
  const site = String(status.environment_url)
  const live = await httpRequest(`${site}/post.php?id=1`)
  expect(live.status).toBe(200)
  expect(live.text).toContain('This is the first post.')
  return { ...task, seed, merge, work, site }
}

/**
 * Runs `act` inside the stand-in's answer to the first deployment status `success`, so that
 * DevSys has not yet had the answer when `act` runs (the stand-in answers after `act`).
 */
function onDeploymentSuccess(world: E2eWorld, act: () => Promise<void>) {
  const route = `POST /repos/${OWNER}/${REPO}/deployments/{deployment_id}/statuses`
  const original = world.repo.routes.find((r) => r.route === route)
  if (original === undefined) throw new Error('the repository fake has no deployment status route')
  let done = false
  world.github.routes({
    route,
    reply: async (r) => {
      if (!done && (r.body as { state?: string } | undefined)?.state === 'success') {
        done = true
        await act()
      }
      return original.reply(r)
    },
  })
}

/** The `issue_comment.created` GitHub sends when `login` comments `body` on pull request `pr`. */
export function prCommentPayload(
  world: Pick<E2eWorld, 'github' | 'repo' | 'cloneUrl'>,
  opts: { pr: number; body: string; commentId: number; login?: string },
) {
  const login = opts.login ?? 'mona'
  const web = `https://github.example.test/${OWNER}/${REPO}/pull/${opts.pr}`
  return examplePayload('issue_comment', 'created', (p) => {
    p.issue.number = opts.pr
    p.issue.pull_request = {
      url: `${world.github.apiUrl}/repos/${OWNER}/${REPO}/pulls/${opts.pr}`,
      html_url: web,
      diff_url: `${web}.diff`,
      patch_url: `${web}.patch`,
      merged_at: world.repo.state.pulls.get(opts.pr)?.mergeCommit ? '2025-01-02T00:00:00Z' : null,
    }
    p.comment.body = opts.body
    p.comment.id = opts.commentId
    p.comment.user = { ...p.comment.user, login, type: 'User' } as typeof p.comment.user
    p.sender = { ...p.sender, login, type: 'User' }
    p.repository.clone_url = world.cloneUrl
    p.repository.default_branch = 'main'
  })
}

/** The current text of every comment DevSys keeps on issue or PR `issue`, oldest first. */
export function commentsOn(world: E2eWorld, issue: number): string[] {
  return [...world.repo.state.comments.values()].filter((c) => c.issue === issue).map((c) => c.body)
}

/** Waits until `check` holds (polling GitHub's state as the stand-in keeps it). */
export async function waitUntil(
  world: E2eWorld,
  check: () => boolean,
  what: string,
  timeoutMs = 120_000,
) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen.\n${world.logTail()}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
