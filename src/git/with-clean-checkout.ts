import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gitEnv, openGit } from './git-env.js'
import type { Workspace } from './types.js'

/**
 * Runs `fn` on a clean checkout of `sha` (a detached worktree of the workspace's repository, in
 * a temporary folder of its own), and removes it afterwards. What the tests see is exactly the
 * commit, as a fresh clone would have it: nothing the agent left untracked or ignored in the
 * work tree (an old JUnit report, a build folder) reaches them.
 */
export async function withCleanCheckout<T>(
  ws: Pick<Workspace, 'dir'>,
  sha: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const box = await mkdtemp(join(tmpdir(), 'devsys-checkout-'))
  const dir = join(box, 'tree')
  const git = openGit(ws.dir, gitEnv())
  try {
    await git.raw(['worktree', 'add', '--quiet', '--detach', dir, sha])
    return await fn(dir)
  } finally {
    await git.raw(['worktree', 'remove', '--force', dir]).catch(() => undefined)
    await rm(box, { recursive: true, force: true })
    await git.raw(['worktree', 'prune']).catch(() => undefined)
  }
}
