import { execFile } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { simpleGit } from 'simple-git'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGenerator } from '../../src/generate/create-generator.js'
import type { Manifest } from '../../src/manifest/types.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { type PhpServer, startPhpServer } from './php-server.js'
import {
  commitAll,
  createWorkspace,
  DEFAULT_CONFIG,
  loadManifest,
  requestFor,
  type TestWorkspace,
} from './workspace.js'

const run = promisify(execFile)
const hasPhp =
  requireTool('php', 'the generated blog is served with php -S') &&
  requireTool('phpunit', 'the generated blog is checked with its own PHPUnit suite')

const BLOG_FILES = [
  '.devsys/generated.json',
  '.devsys/task.yml',
  '.gitignore',
  'README.md',
  'data/posts.json',
  'data/site.json',
  'phpunit.xml',
  'public/index.php',
  'public/post.php',
  'public/style.css',
  'src/Html.php',
  'src/Pages.php',
  'src/Post.php',
  'src/PostRepository.php',
  'src/Response.php',
  'src/Site.php',
  'src/bootstrap.php',
  'tests/HttpTest.php',
  'tests/PagesTest.php',
  'tests/PostRepositoryTest.php',
  'tests/TestServer.php',
  'tests/acceptance.json',
  'tests/bootstrap.php',
]

let ws: TestWorkspace
let server: PhpServer | undefined
beforeEach(async () => {
  ws = await createWorkspace()
})
afterEach(async () => {
  await server?.stop()
  server = undefined
  await ws.cleanup()
})

async function generate(manifest: Manifest, feedback?: string) {
  const generator = createGenerator('scaffold', DEFAULT_CONFIG)
  const extra = feedback === undefined ? {} : { feedback }
  return generator.generate(requestFor(ws.dir, manifest, extra))
}

/** Every file of the work tree (tracked or not, ignored ones left out) with its bytes. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const listed = await simpleGit({ baseDir: dir }).raw([
    'ls-files',
    '--cached',
    '--others',
    '--exclude-standard',
  ])
  const files = new Map<string, string>()
  for (const path of listed.split('\n').filter(Boolean)) {
    files.set(path, (await readFile(join(dir, path))).toString('base64'))
  }
  return files
}

describe('scaffold, php stack (no php needed)', () => {
  it('writes the blog files and the task record, and lists them sorted', async () => {
    const manifest = await loadManifest('specs/create-blog.json')
    const result = await generate(manifest)
    expect(result.files).toEqual(BLOG_FILES)
    expect(result.summary).toBe('Scaffolded a PHP blog for "A small PHP blog" (23 files changed).')
    const posts = JSON.parse(await readFile(join(ws.dir, 'data/posts.json'), 'utf8'))
    expect(posts).toEqual(manifest.data?.posts)
    expect(await readFile(join(ws.dir, '.devsys/task.yml'), 'utf8')).toBe(
      requestFor(ws.dir, manifest).spec,
    )
    // No manifest text inside PHP code: it is read from JSON files.
    expect(await readFile(join(ws.dir, 'public/index.php'), 'utf8')).not.toContain('Hello')
  })

  it('is deterministic: a second run changes nothing and the bytes are identical', async () => {
    const manifest = await loadManifest('specs/create-blog.json')
    await generate(manifest)
    const first = await snapshot(ws.dir)
    await commitAll(ws.dir, 'generated')
    const again = await generate(manifest)
    expect(again.files).toEqual([])
    expect(again.summary).toContain('no files changed')
    expect(await snapshot(ws.dir)).toEqual(first)

    // A fresh work tree gives the same bytes too.
    const other = await createWorkspace()
    try {
      await createGenerator('scaffold', DEFAULT_CONFIG).generate(requestFor(other.dir, manifest))
      expect(await snapshot(other.dir)).toEqual(first)
    } finally {
      await other.cleanup()
    }
  })

  it('adds the form only with data.allowCreate and removes it again without', async () => {
    const open = await loadManifest('specs/create-blog.json', (m) => {
      ;(m.data as Record<string, unknown>).allowCreate = true
    })
    const result = await generate(open)
    expect(result.files).toEqual(
      [...BLOG_FILES, 'public/new.php', 'src/PostForm.php', 'tests/CreatePostTest.php'].sort(),
    )
    await commitAll(ws.dir, 'with form')
    const closed = await generate(await loadManifest('specs/create-blog.json'))
    expect(closed.files).toEqual([
      '.devsys/generated.json',
      '.devsys/task.yml',
      'README.md',
      'data/site.json',
      'public/new.php',
      'src/PostForm.php',
      'src/bootstrap.php',
      'tests/CreatePostTest.php',
    ])
    await expect(stat(join(ws.dir, 'public/new.php'))).rejects.toThrow(/ENOENT/)
  })

  it('records feedback once per revision and says it cannot act on it', async () => {
    const manifest = await loadManifest('specs/create-blog.json')
    const first = await generate(manifest, 'Make the title bigger.\n\n## not a heading')
    expect(first.summary).toContain('cannot act on it')
    expect(first.files).toContain('.devsys/feedback.md')
    await generate(manifest, 'Make the title bigger.\n\n## not a heading') // a retried job
    await generate(manifest, 'Add dates.')
    expect(await readFile(join(ws.dir, '.devsys/feedback.md'), 'utf8')).toBe(
      '# Feedback\n\nRequests made with `/revise`, oldest first. DevSys adds one section per revision.\n' +
        '\n## Revision 1\n\n> Make the title bigger.\n>\n> ## not a heading\n' +
        '\n## Revision 2\n\n> Add dates.\n',
    )
  })

  it('refuses malformed seed posts before writing anything', async () => {
    const manifest = await loadManifest('specs/create-blog.json', (m) => {
      ;(m.data as { posts: Array<Record<string, unknown>> }).posts[1] = {
        id: 1,
        title: 'Dup',
        body: '',
        publishedAt: '2025-01-03',
      }
    })
    await expect(generate(manifest)).rejects.toMatchObject({
      code: 'invalid-data',
      message: expect.stringContaining('data.posts[1].id repeats id 1'),
    })
    expect(await simpleGit({ baseDir: ws.dir }).raw(['status', '--porcelain'])).toBe('')
  })

  it('refuses a stack it has no templates for', async () => {
    const manifest = await loadManifest('specs/create-blog.json')
    await expect(
      generate({ ...manifest, stack: 'rails' as Manifest['stack'] }),
    ).rejects.toMatchObject({
      code: 'unsupported-stack',
      message: expect.stringContaining('"rails"'),
    })
  })
})

describe.skipIf(!hasPhp)('scaffold, php stack, run with real PHP (needs php and phpunit)', () => {
  it('passes its own PHPUnit suite and writes a JUnit report, changing no files', async () => {
    await generate(await loadManifest('specs/create-blog.json'))
    await commitAll(ws.dir, 'generated')
    const { stdout } = await run('phpunit', ['--log-junit', 'build/junit.xml'], { cwd: ws.dir })
    expect(stdout).toMatch(/OK \(\d+ tests?/)
    const junit = await readFile(join(ws.dir, 'build/junit.xml'), 'utf8')
    const suite = junit.match(/<testsuite name="blog"[^>]*>/)?.[0] ?? ''
    const count = (name: string) => Number(suite.match(new RegExp(` ${name}="(\\d+)"`))?.[1])
    expect(count('tests')).toBeGreaterThan(10)
    expect([count('failures'), count('errors')]).toEqual([0, 0])
    // One test case per acceptance check, named after its id.
    expect(junit).toContain('with data set &quot;missing-post&quot;')
    expect(await simpleGit({ baseDir: ws.dir }).raw(['status', '--porcelain'])).toBe('')
  })

  it('meets every acceptance check of the manifest when served by php -S', async () => {
    const manifest = await loadManifest('specs/create-blog.json')
    await generate(manifest)
    server = await startPhpServer(ws.dir)
    expect(manifest.acceptance).toHaveLength(3)
    for (const check of manifest.acceptance) {
      const answer = await httpRequest(server.url + check.path, { method: check.method })
      expect(answer.status, `${check.method} ${check.path}`).toBe(check.status)
      for (const text of check.bodyContains ?? []) expect(answer.text).toContain(text)
    }
    const home = await httpRequest(`${server.url}/`)
    expect(home.text).toContain('<title>A small PHP blog</title>')
    // Newest first.
    expect(home.text.indexOf('Second post')).toBeLessThan(home.text.indexOf('Hello, world'))
    expect(home.text).toContain('<a href="post.php?id=1">Hello, world</a>')
  })

  it('escapes post titles and bodies', async () => {
    const manifest = await loadManifest('specs/create-blog.json', (m) => {
      const posts = (m.data as { posts: Array<Record<string, unknown>> }).posts
      posts.push({
        id: 3,
        title: '<script>alert(1)</script>',
        body: '<img src=x onerror=alert(2)>',
        publishedAt: '2025-01-03',
      })
    })
    await generate(manifest)
    server = await startPhpServer(ws.dir)
    for (const path of ['/', '/post.php?id=3']) {
      const answer = await httpRequest(server.url + path)
      expect(answer.status).toBe(200)
      expect(answer.text).not.toContain('<script>alert(1)')
      expect(answer.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
      expect(answer.headers['content-security-policy']).toBe("default-src 'self'")
    }
    const post = await httpRequest(`${server.url}/post.php?id=3`)
    expect(post.text).toContain('&lt;img src=x onerror=alert(2)&gt;')
    // The generated PHPUnit suite passes with these posts too.
    await run('phpunit', ['--log-junit', 'build/junit.xml'], { cwd: ws.dir })
  })

  it('with data.allowCreate, a posted form adds a post shown on the home page', async () => {
    await generate(
      await loadManifest('specs/create-blog.json', (m) => {
        ;(m.data as Record<string, unknown>).allowCreate = true
      }),
    )
    const { stdout } = await run('phpunit', ['--log-junit', 'build/junit.xml'], { cwd: ws.dir })
    expect(stdout).toMatch(/OK \(\d+ tests?/)
    expect(await readFile(join(ws.dir, 'build/junit.xml'), 'utf8')).toContain('CreatePostTest')

    server = await startPhpServer(ws.dir)
    const form = await httpRequest(`${server.url}/new.php`)
    expect(form.status).toBe(200)
    const token = form.text.match(/name="csrf" value="([0-9a-f]{64})"/)?.[1] ?? ''
    const cookie = String(form.headers['set-cookie']).split(';')[0] ?? ''
    expect(cookie).toBe(`blog_csrf=${token}`)

    const body = new URLSearchParams({ csrf: token, title: 'Third & last', body: 'Posted.' })
    const headers = { 'content-type': 'application/x-www-form-urlencoded', cookie }
    const refused = await httpRequest(`${server.url}/new.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    })
    expect(refused.status).toBe(403)

    const posted = await httpRequest(`${server.url}/new.php`, {
      method: 'POST',
      headers,
      body: body.toString(),
    })
    expect(posted.status).toBe(303)
    expect(posted.headers.location).toBe('post.php?id=3')
    const home = await httpRequest(`${server.url}/`)
    expect(home.text).toContain('<a href="post.php?id=3">Third &amp; last</a>')
    const stored = JSON.parse(await readFile(join(ws.dir, 'data/posts.json'), 'utf8'))
    expect(stored).toHaveLength(3)
    expect(stored[2]).toMatchObject({ id: 3, title: 'Third & last', body: 'Posted.' })
  })
})
