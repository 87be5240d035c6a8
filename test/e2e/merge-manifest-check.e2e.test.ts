/**
 * Issue 10, item 1, as a user sees it: merging a DevSys PR puts DevSys's bookkeeping files
 * (`.devsys/task.yml`, `.devsys/generated.json`) on `main`, where the default manifest globs
 * (`.devsys/*.yml`, `.devsys/*.json`) would match them. The push of that merge must not get a
 * failed `DevSys / manifest` check run, while a manifest a person pushes to `.devsys/` still
 * does get checked.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { requireTool } from '../helpers/require-tool.js'
import { useE2eWorld } from './e2e-world.js'
import { revParse } from './github-repo-routes.js'
import {
  BLOG_MANIFEST,
  deployedStatus,
  fileTaskIssue,
  mergePullRequest,
  pushPayload,
  testsCompleted,
  waitForLog,
} from './scenario-steps.js'

const MANIFEST_CHECK = 'DevSys / manifest'
const hasPhp =
  requireTool('php', 'the merged blog is deployed with php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit before the merge")

const world = useE2eWorld()

/** The `DevSys / manifest` check runs on `sha`, as GitHub would show them (latest writes). */
function manifestRuns(sha: string): Record<string, unknown>[] {
  return [...world.repo.state.checkRuns.values()].filter(
    (c) => c.name === MANIFEST_CHECK && c.head_sha === sha,
  )
}

/** The annotations DevSys sent on `path`, in any check run request. */
function annotationsOn(path: string): unknown[] {
  return world.github.requests.flatMap((r) => {
    const output = (r.body as { output?: { annotations?: { path?: string }[] } } | undefined)
      ?.output
    return (output?.annotations ?? []).filter((a) => a.path === path)
  })
}

/** Waits for the `intake-push` job of the push of `sha` to finish, and returns its status. */
async function intakeOutcome(sha: string): Promise<unknown> {
  const line = await waitForLog(
    world.devsys,
    (l) =>
      l.kind === 'intake-push' && l.msg === 'Job finished' && String(l.key).endsWith(`@${sha}`),
    `the end of the intake-push job for ${sha}`,
  )
  return line.status
}

/** Sends the push of main from `before` to its current head, as GitHub would. */
async function sendPushOfMain(before: string): Promise<string> {
  const after = revParse(world.remote.bare, 'main')
  const payload = pushPayload({
    bare: world.remote.bare,
    ref: 'refs/heads/main',
    before,
    after,
    cloneUrl: world.cloneUrl,
  })
  expect((await world.devsys.sendWebhook('push', payload)).status).toBe(200)
  return after
}

describe.skipIf(!hasPhp)('the push of a merged DevSys PR, end to end', () => {
  it('gets no failed `DevSys / manifest` check for DevSys’s own `.devsys/` files, while a person’s `.devsys/` manifest is still checked', {
    timeout: 300_000,
  }, async () => {
    await world.startDevsys()
    const { github, repo, remote, logTail } = world
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
    const task = await fileTaskIssue(world, BLOG_MANIFEST)
    const { branch, head } = task
    const onBranch = git(remote.bare, 'ls-tree', '-r', '--name-only', branch).split('\n')
    expect(onBranch).toEqual(expect.arrayContaining(['.devsys/task.yml', '.devsys/generated.json']))
    const { run } = await testsCompleted(world, head)
    expect(run, logTail()).toMatchObject({ conclusion: 'success' })

    // 3. The PR is merged as GitHub's merge button does, and GitHub sends the push of main,
    //    listing every file the merged commits added: the bookkeeping files among them.
    const { merge, push: payload, before } = await mergePullRequest(world, task)
    expect(before).toBe(control)
    const added = payload.commits.flatMap((c) => c.added ?? [])
    expect(added).toEqual(expect.arrayContaining(['.devsys/task.yml', '.devsys/generated.json']))

    // 4. Its intake finds no manifest to check: no failed `DevSys / manifest` on main, no
    //    annotation on DevSys's own files; and the merge is deployed.
    expect(await intakeOutcome(merge), logTail()).toBe('skipped')
    const deployed = await deployedStatus(world, merge)
    expect(deployed.state, logTail()).toBe('success')
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
