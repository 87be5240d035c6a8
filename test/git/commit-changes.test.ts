import { access, chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { simpleGit } from 'simple-git'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { commitChanges } from '../../src/git/commit-changes.js'
import { createGitWorkspaces } from '../../src/git/create-git-workspaces.js'
import { pushBranch } from '../../src/git/push-branch.js'
import type { GitRepo } from '../../src/git/types.js'
import { BOT, capturingLog, gitErrorOf, makeRemote, makeSandbox, tipOf } from './support.js'

let box: Awaited<ReturnType<typeof makeSandbox>>
let remote: GitRepo & { bare: string }
beforeEach(async () => {
  box = await makeSandbox()
  remote = await makeRemote(join(box.root, 'github'), 'octo/site')
})
afterEach(() => box.remove())

const workspaces = () =>
  createGitWorkspaces({ cacheDir: box.cacheDir, tmpDir: box.tmpDir, log: capturingLog().log })

describe('commitChanges', () => {
  it('runs no hooks and does not sign, whatever the clone is configured to do', async () => {
    const marker = join(box.root, 'hooks-ran')
    const trailers = await workspaces().withWorkspace(remote, 'devsys/h', undefined, async (w) => {
      const hooks = join(w.dir, '.git', 'hooks')
      await mkdir(hooks, { recursive: true })
      for (const hook of ['pre-commit', 'commit-msg', 'prepare-commit-msg', 'post-commit']) {
        await writeFile(join(hooks, hook), `#!/bin/sh\necho ran >> '${marker}'\nexit 1\n`)
        await chmod(join(hooks, hook), 0o755)
      }
      await w.git.raw(['config', 'commit.gpgsign', 'true'])
      await w.git.raw(['config', 'user.name', 'Somebody Else'])
      await writeFile(join(w.dir, 'x.txt'), 'x\n')
      const result = await commitChanges(w, {
        message: 'Generate\n\nBody text.\n\nRefs: #12',
        identity: {
          ...BOT,
          coAuthors: [
            ...BOT.coAuthors,
            { name: 'Octo Again', email: BOT.coAuthors[0]?.email ?? '' },
            { name: 'The Bot', email: BOT.email },
            { name: 'Mona Lisa', email: 'mona@example.test' },
          ],
        },
      })
      expect(result.committed).toBe(true)
      return w.git.raw(['log', '-1', '--format=%an|%cn%n%(trailers)'])
    })
    await expect(access(marker)).rejects.toThrow()
    // Trailers already in the message stay in the same block; duplicates and the bot are dropped.
    expect(trailers.trim().split('\n')).toEqual([
      `${BOT.name}|${BOT.name}`,
      'Refs: #12',
      'Co-authored-by: Octo Cat <583231+octocat@users.noreply.github.com>',
      'Co-authored-by: Mona Lisa <mona@example.test>',
    ])
  })

  it('refuses names that would forge trailers, without committing', async () => {
    const error = await workspaces()
      .withWorkspace(remote, 'devsys/h', undefined, async (w) => {
        await writeFile(join(w.dir, 'x.txt'), 'x\n')
        return commitChanges(w, {
          message: 'm',
          identity: {
            ...BOT,
            coAuthors: [{ name: 'Eve\nSigned-off-by: Root', email: 'e@x.test' }],
          },
        })
      })
      .then(String, String)
    expect(error).toMatch(/Not a usable commit identity/)
  })
})

describe('pushBranch', () => {
  it('refuses to push a rewritten history instead of blaming GitHub', async () => {
    const ws = workspaces()
    await ws.withWorkspace(remote, 'devsys/r', undefined, async (w) => {
      await writeFile(join(w.dir, 'a.txt'), 'a\n')
      await commitChanges(w, { message: 'A', identity: BOT })
      await pushBranch(w, undefined)
    })
    const before = await tipOf(remote.bare, 'devsys/r')
    const error = await gitErrorOf(
      ws.withWorkspace(remote, 'devsys/r', undefined, async (w) => {
        await w.git.raw(['reset', '--hard', '--quiet', 'HEAD^'])
        await writeFile(join(w.dir, 'b.txt'), 'b\n')
        await commitChanges(w, { message: 'B', identity: BOT })
        await pushBranch(w, undefined)
      }),
    )
    expect(error).toMatchObject({ code: 'push-failed' })
    expect(error.message).toMatch(/DevSys never force-pushes/)
    expect(await tipOf(remote.bare, 'devsys/r')).toBe(before)
    expect(await simpleGit(remote.bare).raw(['rev-list', '--count', 'devsys/r'])).toBe('2\n')
  })
})
