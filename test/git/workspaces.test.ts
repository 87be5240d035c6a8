import { readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { simpleGit } from 'simple-git'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { commitChanges } from '../../src/git/commit-changes.js'
import { createGitWorkspaces } from '../../src/git/create-git-workspaces.js'
import { GitError } from '../../src/git/git-error.js'
import { pushBranch } from '../../src/git/push-branch.js'
import type { GitRepo } from '../../src/git/types.js'
import {
  BOT,
  capturingLog,
  deferred,
  gitErrorOf,
  makeRemote,
  makeSandbox,
  pushAsHuman,
  tipOf,
} from './support.js'

let box: Awaited<ReturnType<typeof makeSandbox>>
let remote: GitRepo & { bare: string }
beforeEach(async () => {
  box = await makeSandbox()
  remote = await makeRemote(join(box.root, 'github'), 'octo/site')
})
afterEach(() => box.remove())

function workspaces() {
  const { log, lines } = capturingLog()
  return { lines, ws: createGitWorkspaces({ cacheDir: box.cacheDir, tmpDir: box.tmpDir, log }) }
}
const messages = (lines: Array<Record<string, unknown>>, msg: string) =>
  lines.filter((line) => line.msg === msg)

describe('withWorkspace + commitChanges + pushBranch against a bare "GitHub" repository', () => {
  it('creates the branch from main, commits as the bot with a co-author trailer, and pushes it', async () => {
    const { ws, lines } = workspaces()
    const mainTip = await tipOf(remote.bare, 'main')
    const result = await ws.withWorkspace(remote, 'devsys/blog', undefined, async (w) => {
      expect(w).toMatchObject({ branch: 'devsys/blog', branchExisted: false, baseSha: mainTip })
      await writeFile(join(w.dir, 'index.php'), '<?php echo "hi";\n')
      await rm(join(w.dir, 'README.md'))
      const commit = await commitChanges(w, { message: 'Generate the blog', identity: BOT })
      await pushBranch(w, undefined)
      return commit
    })
    expect(result.committed).toBe(true)
    expect(result.files.sort()).toEqual(['README.md', 'index.php'])

    const bare = simpleGit(remote.bare)
    expect(await tipOf(remote.bare, 'devsys/blog')).toBe(result.sha)
    expect(await tipOf(remote.bare, 'main')).toBe(mainTip)
    expect((await bare.raw(['ls-tree', '-r', '--name-only', 'devsys/blog'])).trim()).toBe(
      'index.php',
    )
    const people = await bare.raw(['log', '-1', '--format=%an|%ae|%cn|%ce', 'devsys/blog'])
    expect(people.trim()).toBe(`${BOT.name}|${BOT.email}|${BOT.name}|${BOT.email}`)
    const trailers = await bare.raw([
      'log',
      '-1',
      '--format=%(trailers:key=Co-authored-by,valueonly)',
      'devsys/blog',
    ])
    expect(trailers.trim()).toBe('Octo Cat <583231+octocat@users.noreply.github.com>')
    expect((await bare.raw(['log', '-1', '--format=%s', 'devsys/blog'])).trim()).toBe(
      'Generate the blog',
    )
    expect(messages(lines, 'mirror created')).toHaveLength(1)
    expect(await stat(join(box.cacheDir, 'octo', 'site.git', 'HEAD'))).toBeTruthy()
    expect(await readdir(box.tmpDir)).toEqual([])
  })

  it('continues an existing branch, commits on top fast-forward, and commits nothing when nothing changed', async () => {
    const { ws } = workspaces()
    const first = await ws.withWorkspace(remote, 'devsys/blog', undefined, async (w) => {
      await writeFile(join(w.dir, 'a.txt'), 'one\n')
      const commit = await commitChanges(w, { message: 'One', identity: BOT })
      await pushBranch(w, undefined)
      return commit.sha
    })
    const second = await ws.withWorkspace(remote, 'devsys/blog', undefined, async (w) => {
      expect(w).toMatchObject({ branchExisted: true, baseSha: first })
      await writeFile(join(w.dir, 'b.txt'), 'two\n')
      const commit = await commitChanges(w, { message: 'Two', identity: BOT })
      await pushBranch(w, undefined)
      return commit.sha
    })
    const bare = simpleGit(remote.bare)
    expect(await tipOf(remote.bare, 'devsys/blog')).toBe(second)
    expect((await bare.raw(['rev-parse', `${second}^`])).trim()).toBe(first)
    expect((await bare.raw(['ls-tree', '-r', '--name-only', second])).split('\n')).toEqual(
      expect.arrayContaining(['README.md', 'a.txt', 'b.txt']),
    )

    const none = await ws.withWorkspace(remote, 'devsys/blog', undefined, (w) =>
      commitChanges(w, { message: 'Nothing', identity: BOT }),
    )
    expect(none).toEqual({ committed: false, sha: second, files: [] })
    expect(await tipOf(remote.bare, 'devsys/blog')).toBe(second)
  })

  it('reuses the mirror and picks up commits pushed to GitHub meanwhile', async () => {
    const { ws, lines } = workspaces()
    await ws.withWorkspace(remote, 'devsys/a', undefined, async () => undefined)
    const mirror = join(box.cacheDir, 'octo', 'site.git')
    const before = await stat(mirror)
    const newMain = await pushAsHuman(box.root, remote, 'main', { 'NEWS.md': 'news\n' }, 'News')

    const seen = await ws.withWorkspace(remote, 'devsys/b', undefined, async (w) => ({
      base: w.baseSha,
      existed: w.branchExisted,
    }))
    expect(seen).toEqual({ base: newMain, existed: false })
    expect((await stat(mirror)).ino).toBe(before.ino)
    expect(messages(lines, 'mirror created')).toHaveLength(1)
    expect(messages(lines, 'mirror updated')).toHaveLength(1)
    // The mirror keeps GitHub's URL as its origin, never a temporary clone's.
    expect((await simpleGit(mirror).raw(['config', 'remote.origin.url'])).trim()).toBe(remote.bare)
  })

  it('refuses to push when someone pushed to the branch after the workspace was made', async () => {
    const { ws } = workspaces()
    const pushed = await ws.withWorkspace(remote, 'devsys/blog', undefined, async (w) => {
      await writeFile(join(w.dir, 'a.txt'), 'one\n')
      await commitChanges(w, { message: 'One', identity: BOT })
      await pushBranch(w, undefined)
    })
    expect(pushed).toBeUndefined()

    let theirs = ''
    const error = await gitErrorOf(
      ws.withWorkspace(remote, 'devsys/blog', undefined, async (w) => {
        await writeFile(join(w.dir, 'mine.txt'), 'mine\n')
        await commitChanges(w, { message: 'Mine', identity: BOT })
        theirs = await pushAsHuman(
          box.root,
          remote,
          'devsys/blog',
          { 'theirs.txt': 't\n' },
          'Theirs',
        )
        await pushBranch(w, undefined)
      }),
    )
    expect(error).toBeInstanceOf(GitError)
    expect(error).toMatchObject({ code: 'push-rejected', repo: 'octo/site' })
    expect((error as GitError).message).toMatch(
      /devsys\/blog changed on GitHub since DevSys started/,
    )
    expect(await tipOf(remote.bare, 'devsys/blog')).toBe(theirs)
    expect(await readdir(box.tmpDir)).toEqual([])
  })

  it('refuses a new branch that someone else created meanwhile', async () => {
    const { ws } = workspaces()
    let theirs = ''
    const error = await gitErrorOf(
      ws.withWorkspace(remote, 'devsys/new', undefined, async (w) => {
        await writeFile(join(w.dir, 'mine.txt'), 'mine\n')
        await commitChanges(w, { message: 'Mine', identity: BOT })
        theirs = await pushAsHuman(box.root, remote, 'devsys/new', { 'x.txt': 'x\n' }, 'Theirs')
        await pushBranch(w, undefined)
      }),
    )
    expect(error).toMatchObject({ name: 'GitError', code: 'push-rejected' })
    expect(await tipOf(remote.bare, 'devsys/new')).toBe(theirs)
  })

  it('removes the temporary clone after success, after an error in fn, and after abort', async () => {
    const { ws } = workspaces()
    let dir = ''
    await ws.withWorkspace(remote, 'devsys/t', undefined, async (w) => {
      dir = w.dir
      expect(await readdir(box.tmpDir)).toHaveLength(1)
    })
    expect(dir.startsWith(box.tmpDir)).toBe(true)
    expect(await readdir(box.tmpDir)).toEqual([])

    const boom = new Error('generator crashed')
    await expect(
      ws.withWorkspace(remote, 'devsys/t', undefined, async () => {
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(await readdir(box.tmpDir)).toEqual([])

    const controller = new AbortController()
    const aborted = await gitErrorOf(
      ws.withWorkspace(
        remote,
        'devsys/t',
        undefined,
        async (w) => {
          controller.abort()
          await w.git.raw(['status'])
        },
        controller.signal,
      ),
    )
    expect(aborted).toMatchObject({ name: 'GitError', code: 'aborted' })
    expect(await readdir(box.tmpDir)).toEqual([])

    const early = await gitErrorOf(
      ws.withWorkspace(remote, 'devsys/t', undefined, async () => 'never', AbortSignal.abort()),
    )
    expect(early).toMatchObject({ name: 'GitError', code: 'aborted' })
    expect(await readdir(box.tmpDir)).toEqual([])
  })

  it('runs parallel jobs on one repository (one mirror clone) and overlaps different repositories', async () => {
    const { ws, lines } = workspaces()
    const other = await makeRemote(join(box.root, 'github'), 'octo/other')
    const inA = deferred()
    const inB = deferred()
    // Each fn waits until the other one is running: this only finishes if both run at once.
    const [a, b] = await Promise.all([
      ws.withWorkspace(remote, 'devsys/a', undefined, async (w) => {
        inA.resolve()
        await inB.promise
        return w.baseSha
      }),
      ws.withWorkspace(other, 'devsys/b', undefined, async (w) => {
        inB.resolve()
        await inA.promise
        return w.baseSha
      }),
    ])
    expect(a).toBe(await tipOf(remote.bare, 'main'))
    expect(b).toBe(await tipOf(other.bare, 'main'))

    const { ws: fresh, lines: freshLines } = workspaces()
    await rm(box.cacheDir, { recursive: true, force: true })
    const results = await Promise.all(
      ['devsys/1', 'devsys/2', 'devsys/3'].map((branch) =>
        fresh.withWorkspace(remote, branch, undefined, async (w) => {
          await writeFile(join(w.dir, `${branch.slice(7)}.txt`), branch)
          await commitChanges(w, { message: branch, identity: BOT })
          await pushBranch(w, undefined)
          return w.branch
        }),
      ),
    )
    expect(results).toEqual(['devsys/1', 'devsys/2', 'devsys/3'])
    expect(messages(freshLines, 'mirror created')).toHaveLength(1)
    expect(messages(freshLines, 'mirror updated')).toHaveLength(2)
    for (const branch of results) expect(await tipOf(remote.bare, branch)).toBeTruthy()
    expect(lines.length).toBeGreaterThan(0)
    expect(await readdir(box.tmpDir)).toEqual([])
  })
})
