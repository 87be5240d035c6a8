import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { simpleGit } from 'simple-git'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGitWorkspaces } from '../../src/git/create-git-workspaces.js'
import type { GitRepo } from '../../src/git/types.js'
import { capturingLog, gitErrorOf, makeRemote, makeSandbox } from './support.js'

let box: Awaited<ReturnType<typeof makeSandbox>>
let remote: GitRepo & { bare: string }
beforeEach(async () => {
  box = await makeSandbox()
  remote = await makeRemote(join(box.root, 'github'), 'octo/site')
})
afterEach(() => box.remove())

function workspaces() {
  return {
    ws: createGitWorkspaces({
      cacheDir: box.cacheDir,
      tmpDir: box.tmpDir,
      log: capturingLog().log,
    }),
  }
}

describe('withWorkspace refusals and clone failures', () => {
  it('reports a repository that does not exist as clone-failed, saying what to check', async () => {
    const { ws } = workspaces()
    const missing = { ...remote, fullName: 'octo/missing', cloneUrl: join(box.root, 'nope.git') }
    const error = await gitErrorOf(
      ws.withWorkspace(missing, 'devsys/x', undefined, async () => 'never'),
    )
    expect(error).toMatchObject({ name: 'GitError', code: 'clone-failed', repo: 'octo/missing' })
    const { message } = error
    expect(message).toMatch(/^Could not clone octo\/missing from .*nope\.git: /)
    expect(message).toMatch(/repository '.*nope\.git' does not exist/)
    expect(message).toMatch(/Check that the repository exists and that the DevSys app is installed/)
    expect(await readdir(box.tmpDir)).toEqual([])
    // No half-made mirror is left behind to be mistaken for a real one.
    expect(await readdir(join(box.cacheDir, 'octo'))).toEqual([])
  })

  it('reports an empty repository (no default branch) as clone-failed', async () => {
    const { ws } = workspaces()
    const emptyBare = join(box.root, 'github', 'octo', 'empty.git')
    await simpleGit().raw(['init', '--bare', '--quiet', '-b', 'main', emptyBare])
    const empty = { fullName: 'octo/empty', cloneUrl: emptyBare, defaultBranch: 'main' }
    await expect(
      ws.withWorkspace(empty, 'devsys/x', undefined, async () => 'never'),
    ).rejects.toMatchObject({
      code: 'clone-failed',
      message: expect.stringMatching(/octo\/empty has no branch main .*Push a first commit/),
    })
  })

  it('refuses branch names git would reject or read as an option, and repository names that leave cacheDir', async () => {
    const { ws } = workspaces()
    for (const branch of ['-x', 'a..b', 'a b', 'devsys/x.lock', '']) {
      await expect(ws.withWorkspace(remote, branch, undefined, async () => 1)).rejects.toThrow(
        /Not a valid git branch name/,
      )
    }
    for (const fullName of ['../x', 'a/b/c', 'octo/..']) {
      await expect(
        ws.withWorkspace({ ...remote, fullName }, 'devsys/x', undefined, async () => 1),
      ).rejects.toThrow(/Not a repository name/)
    }
    const withCredentials = {
      ...remote,
      cloneUrl: 'https://x-access-token:ghs_secret@github.com/o/r.git',
    }
    const error = await ws
      .withWorkspace(withCredentials, 'devsys/x', undefined, async () => 1)
      .then(String, String)
    expect(error).toMatch(/holds credentials/)
    expect(error).not.toContain('ghs_secret')
  })
})
