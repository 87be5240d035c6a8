/**
 * Issue 10, item 4, as a user sees it on GitHub, against DevSys as its own process:
 * - a `/rollback` sent the moment GitHub is told the deploy succeeded finds production free
 *   (the deploy lock is released when the deploy's work ends, not after its reporting) and is
 *   carried out;
 * - each answer keeps its own comment: the "Deployed" comment of the PR is still there, with
 *   its content, beside the rollback's answer;
 * - with `main` protected, the rollback's revert is a pull request, and the report names `main`
 *   as the protected branch, not the revert's own branch.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { OWNER, REPO, useE2eWorld } from './e2e-world.js'
import { revParse } from './github-repo-routes.js'
import { commentsOn, mergeAndDeploy, prCommentPayload, waitUntil } from './scenario-steps.js'

const hasPhp =
  requireTool('php', 'the deployed blog is served by php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit before the merge")

const world = useE2eWorld()

/** Every comment body DevSys sent to PR `pr` (created or edited), in order. */
function sentToPr(pr: number): string[] {
  return world.github.requests.flatMap((r) => {
    const text = (r.body as { body?: unknown } | undefined)?.body
    if (typeof text !== 'string') return []
    if (r.method === 'POST' && r.path.endsWith(`/issues/${pr}/comments`)) return [text]
    if (r.method === 'PATCH' && /\/issues\/comments\/\d+$/.test(r.path)) {
      return world.repo.state.comments.get(Number(r.params.comment_id))?.issue === pr ? [text] : []
    }
    return []
  })
}

/** A person with write permission comments `/rollback` on the merged PR; DevSys checks them. */
async function commentRollback(pr: number, commentId: number) {
  const payload = prCommentPayload(world, { pr, body: '/rollback', commentId })
  expect((await world.devsys.sendWebhook('issue_comment', payload)).status).toBe(200)
}

describe.skipIf(!hasPhp)('answers to `/rollback` after a deploy, end to end', () => {
  it('a `/rollback` sent the moment GitHub shows the deploy’s success is carried out, not told “busy”, and the “Deployed” comment stays beside its answer', {
    timeout: 300_000,
  }, async () => {
    await world.startDevsys()
    const { merge, number } = await mergeAndDeploy(world, {
      // Inside the stand-in's answer to the deployment's `success`: DevSys has not even been
      // told GitHub took it, let alone written its comment.
      onDeployed: (task) => commentRollback(task.number, 3001),
    })
    expect(number).toBe(5)
    await waitUntil(
      world,
      () => revParse(world.remote.bare, 'main') !== merge,
      'the revert of the merge on main',
    )
    const revert = revParse(world.remote.bare, 'main')
    expect(git(world.remote.bare, 'rev-parse', `${revert}^1`)).toBe(merge)
    await waitUntil(
      world,
      () => commentsOn(world, number).some((c) => c.includes(`Reverted ${merge.slice(0, 7)}`)),
      'the revert reported on the PR',
    )

    // Carried out: nothing DevSys ever wrote on the PR said production was busy.
    const said = sentToPr(number)
    expect(
      said.filter((text) => /is busy/.test(text)),
      said.join('\n---\n'),
    ).toEqual([])
    // Each answer in its own comment, each as last written: the deploy's result, the
    // rollback's answer and the revert's report.
    const comments = commentsOn(world, number)
    const deployed = comments.filter((c) => c.startsWith('<!-- devsys:deploy -->'))
    expect(deployed, comments.join('\n---\n')).toHaveLength(1)
    expect(deployed[0]).toContain(`Deployed ${merge.slice(0, 7)} to \`production\``)
    const rolling = comments.filter((c) => /Rolling back/.test(c))
    expect(rolling, comments.join('\n---\n')).toHaveLength(1)
    expect(rolling[0]).toContain(`reverting ${merge.slice(0, 7)} on \`main\``)
    expect(rolling[0]).not.toContain('Deployed')
    const reverted = comments.filter((c) => c.includes(`Reverted ${merge.slice(0, 7)}`))
    expect(reverted).toHaveLength(1)
    // The command got its rocket.
    const reactions = world.github.requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/issues/comments/3001/reactions'),
    )
    expect(reactions.map((r) => (r.body as { content: string }).content)).toContain('rocket')

    expect(world.github.problems()).toEqual([])
  })

  it('with `main` protected, the rollback’s revert is a pull request and the report names `main` as the protected branch', {
    timeout: 300_000,
  }, async () => {
    await world.startDevsys()
    const { merge, number, site } = await mergeAndDeploy(world)
    // GitHub's branch protection refuses pushes to main (a pre-receive hook on the remote).
    protectBranch(world.remote.bare, 'main')

    await commentRollback(number, 3002)

    // The revert goes on a branch of its own, as a pull request to main.
    const branch = `devsys/revert-${merge.slice(0, 12)}`
    const opened = await world.github.waitFor(
      (r) =>
        r.method === 'POST' &&
        r.path === `/repos/${OWNER}/${REPO}/pulls` &&
        (r.body as { head?: string } | undefined)?.head === branch,
      { describe: world.logTail },
    )
    expect(opened.body).toMatchObject({ head: branch, base: 'main' })
    const revertPr = [...world.repo.state.pulls.entries()].find(([, p]) => p.head === branch)?.[0]
    await waitUntil(
      world,
      () => commentsOn(world, number).some((c) => c.includes(`pull request #${revertPr}`)),
      'the revert pull request reported on the PR',
    )
    const report = commentsOn(world, number).find((c) => c.includes(`pull request #${revertPr}`))
    expect(report, world.logTail()).toContain('`main` is protected, so the revert of')
    expect(report).not.toContain(`\`${branch}\` is protected`)
    // main is untouched and the site still serves the task until the revert is merged.
    expect(revParse(world.remote.bare, 'main')).toBe(merge)
    expect(revParse(world.remote.bare, branch)).not.toBe('')
    const live = await httpRequest(`${site}/post.php?id=1`)
    expect(live.status).toBe(200)

    expect(world.github.problems()).toEqual([])
  })
})

/** Refuses pushes to `branch` as GitHub's branch protection does (a pre-receive hook). */
function protectBranch(bare: string, branch: string) {
  writeFileSync(
    join(bare, 'hooks', 'pre-receive'),
    `#!/bin/sh\nwhile read old new ref; do\n  if [ "$ref" = "refs/heads/${branch}" ]; then\n    echo "GH006: Protected branch update failed for $ref." >&2\n    exit 1\n  fi\ndone\n`,
    { mode: 0o755 },
  )
}
