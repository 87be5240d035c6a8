import { randomUUID } from 'node:crypto'
import { access, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { simpleGit } from 'simple-git'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { commitChanges } from '../../src/git/commit-changes.js'
import { createGitWorkspaces } from '../../src/git/create-git-workspaces.js'
import { pushBranch } from '../../src/git/push-branch.js'
import type { GitRepo } from '../../src/git/types.js'
import { type GitHttpServer, startGitHttpServer } from './git-http-server.js'
import {
  BOT,
  capturingLog,
  filesContaining,
  gitErrorOf,
  makeRemote,
  makeSandbox,
  tipOf,
} from './support.js'

// Not shaped like a GitHub token on purpose: only DevSys's own handling can keep it out of sight.
const TOKEN = `test-token-${randomUUID()}`
const WRONG = `wrong-token-${randomUUID()}`
const basic = (token: string) => Buffer.from(`x-access-token:${token}`).toString('base64')
const SECRETS = [TOKEN, basic(TOKEN), WRONG, basic(WRONG)]

let box: Awaited<ReturnType<typeof makeSandbox>>
let server: GitHttpServer
let bare: string
let repo: GitRepo
beforeEach(async () => {
  box = await makeSandbox()
  const root = join(box.root, 'github')
  const remote = await makeRemote(root, 'octo/site')
  bare = remote.bare
  await simpleGit(bare).raw(['config', 'http.receivepack', 'true'])
  server = await startGitHttpServer(root, TOKEN)
  repo = {
    fullName: 'octo/site',
    cloneUrl: `${server.baseUrl}/octo/site.git`,
    defaultBranch: 'main',
  }
})
afterEach(async () => {
  await server.close()
  await box.remove()
})

const expectNoSecret = (text: string) => {
  for (const secret of SECRETS) expect(text).not.toContain(secret)
}

describe('installation tokens over real smart HTTP', () => {
  it('clones, fetches and pushes with the token sent as a header, and stores it nowhere', async () => {
    const { log, lines } = capturingLog()
    const ws = createGitWorkspaces({ cacheDir: box.cacheDir, tmpDir: box.tmpDir, log })
    const kept = join(box.root, 'kept-clone-git')
    const sha = await ws.withWorkspace(repo, 'devsys/blog', { token: TOKEN }, async (w) => {
      await writeFile(join(w.dir, 'index.html'), '<h1>hi</h1>\n')
      const commit = await commitChanges(w, { message: 'Generate', identity: BOT })
      await pushBranch(w, { token: TOKEN })
      await cp(join(w.dir, '.git'), kept, { recursive: true })
      return commit.sha
    })
    expect(await tipOf(bare, 'devsys/blog')).toBe(sha)

    // Second run: the mirror is fetched (not cloned) over HTTP with the token too.
    const second = await ws.withWorkspace(repo, 'devsys/blog', { token: TOKEN }, async (w) => ({
      existed: w.branchExisted,
      base: w.baseSha,
    }))
    expect(second).toEqual({ existed: true, base: sha })

    const pushes = server.requests.filter((r) => r.url.endsWith('/git-receive-pack'))
    expect(pushes.length).toBeGreaterThan(0)
    for (const push of pushes) expect(push.authorization).toBe(`basic ${basic(TOKEN)}`)

    const mirror = join(box.cacheDir, 'octo', 'site.git')
    expect(await readFile(join(mirror, 'config'), 'utf8')).toContain(`url = ${repo.cloneUrl}\n`)
    expect(await readFile(join(kept, 'config'), 'utf8')).toContain(`url = ${repo.cloneUrl}\n`)
    expect(await filesContaining(box.cacheDir, SECRETS)).toEqual([])
    expect(await filesContaining(kept, SECRETS)).toEqual([])
    expectNoSecret(JSON.stringify(lines))
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['mirror created', 'mirror updated', 'workspace ready', 'pushed']),
    )
    expect(await readdir(box.tmpDir)).toEqual([])
  })

  it('fails with a wrong token without revealing it: clone, fetch and push', async () => {
    const ws = createGitWorkspaces({
      cacheDir: box.cacheDir,
      tmpDir: box.tmpDir,
      log: capturingLog().log,
    })
    const clone = await gitErrorOf(
      ws.withWorkspace(repo, 'devsys/x', { token: WRONG }, async () => 'never'),
    )
    expect(clone).toMatchObject({ name: 'GitError', code: 'clone-failed', repo: 'octo/site' })
    expect(clone.message).toMatch(/^Could not clone octo\/site from http:\/\/127\.0\.0\.1:\d+\//)
    expectNoSecret(clone.message)
    expectNoSecret(String(clone.stack))

    // With a mirror in place (right token), a wrong token fails the fetch, then the push.
    await ws.withWorkspace(repo, 'devsys/x', { token: TOKEN }, async () => undefined)
    const fetch = await gitErrorOf(
      ws.withWorkspace(repo, 'devsys/x', { token: WRONG }, async () => 'never'),
    )
    expect(fetch).toMatchObject({ code: 'fetch-failed' })
    expectNoSecret(fetch.message)

    const push = await gitErrorOf(
      ws.withWorkspace(repo, 'devsys/x', { token: TOKEN }, async (w) => {
        await writeFile(join(w.dir, 'x.txt'), 'x\n')
        await commitChanges(w, { message: 'X', identity: BOT })
        await pushBranch(w, { token: WRONG })
      }),
    )
    expect(push).toMatchObject({ code: 'push-failed' })
    expect(push.message).toMatch(/^Could not push devsys\/x to octo\/site/)
    expectNoSecret(push.message)
    expect(await tipOf(bare, 'devsys/x')).toBeUndefined()
    expect(await readdir(box.tmpDir)).toEqual([])
  })

  it('never lets a credential helper or askpass of the machine answer for DevSys', async () => {
    const home = join(box.root, 'home')
    const marker = join(box.root, 'helper-ran')
    await mkdir(home)
    // A user-level helper that would hand git the right token: DevSys must not use it.
    const helper = `!f() { echo ran >> '${marker}'; echo username=x-access-token; echo password=${TOKEN}; }; f`
    await writeFile(
      join(home, '.gitconfig'),
      `[credential]\n\thelper = "${helper}"\n[core]\n\taskPass = /bin/false\n`,
    )
    const realHome = process.env.HOME
    process.env.HOME = home
    try {
      const ws = createGitWorkspaces({
        cacheDir: box.cacheDir,
        tmpDir: box.tmpDir,
        log: capturingLog().log,
      })
      const error = await gitErrorOf(
        ws.withWorkspace(repo, 'devsys/x', undefined, async () => 'never'),
      )
      expect(error).toMatchObject({ code: 'clone-failed' })
      expect(error.message).toMatch(/terminal prompts disabled/)
    } finally {
      process.env.HOME = realHome
    }
    await expect(access(marker)).rejects.toThrow()
  })

  it('stops a git command that hangs on the network when the job is aborted, and cleans up', async () => {
    const ws = createGitWorkspaces({
      cacheDir: box.cacheDir,
      tmpDir: box.tmpDir,
      log: capturingLog().log,
    })
    server.stall(true)
    const controller = new AbortController()
    const running = ws.withWorkspace(
      repo,
      'devsys/x',
      { token: TOKEN },
      async () => 'never',
      controller.signal,
    )
    setTimeout(() => controller.abort(), 300)
    await expect(running).rejects.toMatchObject({ name: 'GitError', code: 'aborted' })
    expect(await readdir(box.tmpDir)).toEqual([])
    // No half-cloned mirror is left for the next job to trust.
    expect(await readdir(join(box.cacheDir, 'octo'))).toEqual([])
  })
})
