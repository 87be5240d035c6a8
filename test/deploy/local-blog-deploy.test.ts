import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import pino from 'pino'
import { simpleGit } from 'simple-git'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRepoConfig } from '../../src/config/load-repo-config.js'
import { type PhpServe, servePhp } from '../../src/deploy/serve-local.js'
import { createLocalTarget } from '../../src/deploy/targets/local-target.js'
import type { DeployError, Release } from '../../src/deploy/types.js'
import { createGenerator } from '../../src/generate/create-generator.js'
import type { Manifest } from '../../src/manifest/types.js'
import type { ReachPolicy } from '../../src/verify/guard-url.js'
import { EMPTY_ALLOW_LIST } from '../../src/verify/parse-allowed-hosts.js'
import { runAcceptance } from '../../src/verify/run-acceptance.js'
import { commitAll, createWorkspace, loadManifest, requestFor } from '../generate/workspace.js'

// The generated blog deployed to a real directory and served by a real `php -S`; requests use
// Node's fetch (this file imports no nock, so nothing intercepts it).
const log = pino({ level: 'silent' })
const cleanups: (() => Promise<void>)[] = []
let work: string
let manifest: Manifest
let first: Release
let second: Release

/** Generates the blog (optionally with another title), commits it, and copies it as a release. */
async function blogRelease(
  name: string,
  title?: string,
): Promise<{ release: Release; m: Manifest }> {
  const ws = await createWorkspace()
  cleanups.push(ws.cleanup)
  const m = await loadManifest('specs/create-blog.json', (v) => {
    if (title !== undefined) v.title = title
  })
  const parsed = parseRepoConfig(null)
  if (!parsed.ok) throw new Error('the default repo config is invalid')
  await createGenerator('scaffold', parsed.config.generator).generate(requestFor(ws.dir, m))
  await commitAll(ws.dir, 'Generate the blog')
  const id = (await simpleGit({ baseDir: ws.dir }).revparse(['HEAD^{tree}'])).trim()
  const dir = join(work, name)
  await cp(ws.dir, dir, { recursive: true, filter: (src) => basename(src) !== '.git' })
  return { release: { id, dir }, m }
}

/** The php -S this test started is the one origin its checks may reach, as in DevSys. */
function own(server: { url: string }): ReachPolicy {
  return { trustedOrigins: [server.url], allowed: EMPTY_ALLOW_LIST }
}

async function page(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url)
  return { status: res.status, text: await res.text() }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'devsys-blog-deploy-'))
  cleanups.push(() => rm(work, { recursive: true, force: true }))
  const a = await blogRelease('release-1')
  manifest = a.m
  first = a.release
  second = (await blogRelease('release-2', 'The renamed blog')).release
}, 60_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function served(root: string): Promise<PhpServe> {
  const server = await servePhp(root)
  cleanups.push(() => server.stop())
  return server
}

const noTemp = async (root: string) =>
  (await readdir(join(root, 'releases')))
    .filter((n) => n.startsWith('.'))
    .concat((await readdir(root)).filter((n) => n.startsWith('.current-')))

describe('the blog on the local target, served by php -S', () => {
  it('deploys, verifies, switches without restart, and redeploys by switching only', async () => {
    expect(first.id).not.toBe(second.id)
    const root = join(work, 'target')
    const server = await served(root)
    const target = createLocalTarget({ root, url: server.url })
    // Before the first deploy the server is up and says so.
    expect((await page(`${server.url}/`)).status).toBe(503)

    const up1 = await target.upload(first, { signal: new AbortController().signal, log })
    expect(up1).toMatchObject({ alreadyThere: false, reused: 0 })
    expect(up1.sent).toBeGreaterThan(10)
    await target.activate(first.id)
    const verified = await runAcceptance(server.url, manifest.acceptance, {
      retryDelayMs: 50,
      reach: own(server),
    })
    expect(verified.checks.map((c) => [c.id, c.ok, c.problems])).toEqual([
      ['home-lists-posts', true, []],
      ['post-page', true, []],
      ['missing-post', true, []],
    ])
    expect(verified.ok).toBe(true)
    expect((await page(`${server.url}/style.css`)).status).toBe(200)
    expect((await page(`${server.url}/`)).text).toContain('<h1>A small PHP blog</h1>')

    expect(await target.diff(second)).toMatchObject({
      changed: expect.arrayContaining(['data/site.json']),
    })
    const up2 = await target.upload(second, { signal: new AbortController().signal, log })
    expect(up2.reused).toBeGreaterThan(0)
    // Uploaded but not switched: the live site is still the first release.
    expect((await page(`${server.url}/`)).text).toContain('<h1>A small PHP blog</h1>')
    await target.activate(second.id)
    // Same server process, next request: the new release answers.
    expect((await page(`${server.url}/`)).text).toContain('<h1>The renamed blog</h1>')
    expect((await runAcceptance(server.url, manifest.acceptance, { reach: own(server) })).ok).toBe(
      true,
    )

    const again = await target.upload(first, { signal: new AbortController().signal, log })
    expect(again).toEqual({ alreadyThere: true, sent: 0, reused: 0, bytesSent: 0 })
    await target.activate(first.id)
    expect((await page(`${server.url}/`)).text).toContain('<h1>A small PHP blog</h1>')
    expect(await target.state()).toEqual({ current: first.id, releases: [second.id, first.id] })
    expect(await noTemp(root)).toEqual([])

    // The same checks, wrong on purpose, name what the live page lacks.
    const wrong = manifest.acceptance.map((c) =>
      c.id === 'home-lists-posts' ? { ...c, bodyContains: ['Hello, world', 'Third post'] } : c,
    )
    const failed = await runAcceptance(server.url, wrong, { retryDelayMs: 10, reach: own(server) })
    expect(failed.ok).toBe(false)
    expect(failed.checks.filter((c) => !c.ok).map((c) => [c.id, c.problems, c.attempts])).toEqual([
      ['home-lists-posts', ['body does not contain "Third post"'], 1],
    ])
    await server.stop()
    const down = await runAcceptance(server.url, manifest.acceptance.slice(0, 1), {
      reach: own(server),
      retries: 1,
      retryDelayMs: 10,
    })
    expect(down.checks[0]?.problems).toEqual([`connection refused by ${new URL(server.url).host}`])
  })

  it('keeps a post written in release 1 (shared data/) through release 2', async () => {
    const root = join(work, 'target-shared')
    const server = await served(root)
    const target = createLocalTarget({ root, shared: ['data'], url: server.url })
    await target.upload(first, { signal: new AbortController().signal, log })
    await target.activate(first.id)
    const postsFile = join(root, 'shared/data/posts.json')
    const posts = JSON.parse(await readFile(postsFile, 'utf8')) as unknown[]
    posts.push({
      id: 3,
      title: 'Written live',
      body: 'Kept across deploys.',
      publishedAt: '2026-01-03',
    })
    await writeFile(postsFile, JSON.stringify(posts))
    expect((await page(`${server.url}/post.php?id=3`)).text).toContain('Kept across deploys.')

    await target.upload(second, { signal: new AbortController().signal, log })
    await target.activate(second.id)
    expect((await target.state()).current).toBe(second.id)
    const post = await page(`${server.url}/post.php?id=3`)
    expect(post.status).toBe(200)
    expect(post.text).toContain('Kept across deploys.')
    expect((await runAcceptance(server.url, manifest.acceptance, { reach: own(server) })).ok).toBe(
      true,
    )
  })

  it('an upload aborted mid-copy leaves the old release serving completely and no temp dirs', async () => {
    const root = join(work, 'target-abort')
    const server = await served(root)
    const target = createLocalTarget({ root, url: server.url })
    await target.upload(first, { signal: new AbortController().signal, log })
    await target.activate(first.id)
    const controller = new AbortController()
    const pending = target.upload(second, { signal: controller.signal, log })
    setImmediate(() => controller.abort())
    const error = (await pending.catch((e: unknown) => e)) as DeployError
    expect(error.code).toBe('aborted')
    expect(await noTemp(root)).toEqual([])
    expect(await target.state()).toEqual({ current: first.id, releases: [first.id] })
    expect((await runAcceptance(server.url, manifest.acceptance, { reach: own(server) })).ok).toBe(
      true,
    )
    expect((await page(`${server.url}/`)).text).toContain('<h1>A small PHP blog</h1>')
  })

  it('prune keeps the newest N, current and the release live before it', async () => {
    const root = join(work, 'target-prune')
    const target = createLocalTarget({ root })
    await target.upload(first, { signal: new AbortController().signal, log })
    await target.upload(second, { signal: new AbortController().signal, log })
    await target.activate(first.id)
    // Nothing was live before the first release: keep 1 keeps only current.
    expect(await target.prune(1)).toEqual([second.id])
    await target.upload(second, { signal: new AbortController().signal, log })
    await target.activate(second.id)
    // keep 0 still keeps current and the release live before it (the rollback target).
    expect(await target.prune(0)).toEqual([])
    expect((await target.state()).releases).toHaveLength(2)
  })
})
