/**
 * Issue 10, items 2 and 3, as a user sees them, after a task's merge was the first deploy of
 * production:
 * - a person reverts the merge on `main`: DevSys deploys that revert as it is (the task's checks
 *   do not apply to a tree without the task) and never pushes a revert of the person's revert;
 * - a person comments `/rollback` on the merged PR: with no earlier release to switch back to,
 *   DevSys reverts the merge on `main` itself and says so, instead of advising the person to.
 */
import { describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { OWNER, REPO, useE2eWorld } from './e2e-world.js'
import { revParse } from './github-repo-routes.js'
import {
  deployedStatus,
  mergeAndDeploy,
  prCommentPayload,
  pushPayload,
  waitUntil,
} from './scenario-steps.js'

const hasPhp =
  requireTool('php', 'the deployed blog is served by php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit before the merge")

const world = useE2eWorld()

/** Every comment body DevSys wrote or edited on PR #5, in order. */
function commentsSentOnPr(): string[] {
  return world.github.requests.flatMap((r) => {
    const text = (r.body as { body?: unknown } | undefined)?.body
    if (typeof text !== 'string') return []
    if (r.method === 'POST' && r.path.endsWith('/issues/5/comments')) return [text]
    if (r.method === 'PATCH' && /\/issues\/comments\/\d+$/.test(r.path)) {
      const kept = world.repo.state.comments.get(Number(r.params.comment_id))
      return kept?.issue === 5 ? [text] : []
    }
    return []
  })
}

describe.skipIf(!hasPhp)('after the first deploy of production, end to end', () => {
  it('a person reverts the merge: DevSys deploys the revert, the task’s page is gone, and DevSys never reverts the person’s revert', {
    timeout: 420_000,
  }, async () => {
    const devsys = await world.startDevsys()
    const { github, repo, remote, cloneUrl, logTail } = world
    const { work, merge, site } = await mergeAndDeploy(world)

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
    const second = await deployedStatus(world, revert)
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
    const devsys = await world.startDevsys()
    const { github, remote, cloneUrl, logTail } = world
    const { seed, merge, site, number } = await mergeAndDeploy(world)
    // GitHub now shows PR #5 merged (the fake's pull request is closed and merged).
    expect(number).toBe(5)
    const base = `/repos/${OWNER}/${REPO}`

    // 1. A person with write permission comments `/rollback` on the merged PR.
    const comment = prCommentPayload(world, { pr: 5, body: '/rollback', commentId: 3001 })
    expect(comment.issue.pull_request?.merged_at).not.toBeNull()
    expect((await devsys.sendWebhook('issue_comment', comment)).status).toBe(200)
    await github.waitFor(`GET ${base}/collaborators/{username}/permission`, {
      describe: logTail,
    })

    // 2. DevSys reverts the merge on main (not protected here): a new commit on main whose tree
    //    is main's before the merge.
    await waitUntil(
      world,
      () => revParse(remote.bare, 'main') !== merge,
      'a revert of the merge on main',
    )
    const revert = revParse(remote.bare, 'main')
    expect(revert, logTail()).not.toBe(merge)
    expect(git(remote.bare, 'rev-parse', `${revert}^1`)).toBe(merge)
    expect(git(remote.bare, 'rev-parse', `${revert}^{tree}`)).toBe(
      git(remote.bare, 'rev-parse', `${seed}^{tree}`),
    )

    // 3. Its answer on the PR says what DevSys did, and never advises the person to revert.
    await waitUntil(
      world,
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
    const second = await deployedStatus(world, revert)
    expect(second.state, logTail()).toBe('success')
    const gone = await httpRequest(`${String(second.environment_url || site)}/post.php?id=1`)
    expect(gone.status).toBe(404)
    expect(revParse(remote.bare, 'main'), logTail()).toBe(revert)

    expect(github.problems()).toEqual([])
  })
})
