import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { simpleGit } from 'simple-git'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { checkChanges } from '../../src/generate/check-changes.js'
import { createGenerator } from '../../src/generate/create-generator.js'
import {
  commitAll,
  createWorkspace,
  DEFAULT_CONFIG,
  loadManifest,
  requestFor,
  type TestWorkspace,
} from './workspace.js'

const LIMITS = { forbiddenPaths: ['.github/', 'secrets'], maxOutputBytes: 1024 }

let ws: TestWorkspace
beforeEach(async () => {
  ws = await createWorkspace()
})
afterEach(async () => {
  await ws.cleanup()
})

describe('checkChanges', () => {
  it('lists added, changed, removed and renamed paths, sorted', async () => {
    await mkdir(join(ws.dir, 'lib'))
    await writeFile(join(ws.dir, 'lib/old name.txt'), 'a')
    await writeFile(join(ws.dir, 'gone.txt'), 'b')
    await commitAll(ws.dir, 'files')
    const git = simpleGit({ baseDir: ws.dir })
    await git.mv('lib/old name.txt', 'lib/new name.txt')
    await rm(join(ws.dir, 'gone.txt'))
    await writeFile(join(ws.dir, 'README.md'), 'changed')
    await mkdir(join(ws.dir, 'deep/er'), { recursive: true })
    await writeFile(join(ws.dir, 'deep/er/ünïcode "quoted".txt'), 'c')
    await symlink('../README.md', join(ws.dir, 'deep/readme-link'))
    expect(await checkChanges(ws.dir, LIMITS)).toEqual([
      'README.md',
      'deep/er/ünïcode "quoted".txt',
      'deep/readme-link',
      'gone.txt',
      'lib/new name.txt',
      'lib/old name.txt',
    ])
  })

  it('refuses removing a forbidden file and matches a prefix without a slash', async () => {
    await mkdir(join(ws.dir, '.github'))
    await writeFile(join(ws.dir, '.github/CODEOWNERS'), '* @octocat')
    await commitAll(ws.dir, 'owners')
    await rm(join(ws.dir, '.github/CODEOWNERS'))
    await expect(checkChanges(ws.dir, LIMITS)).rejects.toMatchObject({
      code: 'forbidden-path',
      message: expect.stringContaining(
        '.github/CODEOWNERS, which is under the forbidden path .github/',
      ),
    })
    await simpleGit({ baseDir: ws.dir }).raw(['checkout', '--', '.'])
    await writeFile(join(ws.dir, 'secrets.env'), 'x')
    await expect(checkChanges(ws.dir, LIMITS)).rejects.toMatchObject({ code: 'forbidden-path' })
  })

  it('refuses a file reached through a folder that became a symlink out of the workspace', async () => {
    await mkdir(join(ws.dir, 'web'))
    await writeFile(join(ws.dir, 'web/page.html'), 'in')
    await commitAll(ws.dir, 'web')
    await rm(join(ws.dir, 'web'), { recursive: true })
    await mkdir(join(ws.parent, 'elsewhere'))
    await writeFile(join(ws.parent, 'elsewhere/page.html'), 'out')
    await symlink(join(ws.parent, 'elsewhere'), join(ws.dir, 'web'))
    await expect(checkChanges(ws.dir, LIMITS)).rejects.toMatchObject({
      code: 'escape',
      message: expect.stringContaining('web/page.html resolves to'),
    })
  })

  it('counts the size of added and changed files against the limit', async () => {
    await writeFile(join(ws.dir, 'a.txt'), Buffer.alloc(600))
    expect(await checkChanges(ws.dir, LIMITS)).toEqual(['a.txt'])
    await writeFile(join(ws.dir, 'b.txt'), Buffer.alloc(600))
    await expect(checkChanges(ws.dir, LIMITS)).rejects.toMatchObject({
      code: 'output-limit',
      message: expect.stringContaining('more than 1 KiB'),
    })
  })
})

describe('scaffold writes', () => {
  it('never follow a symlinked folder out of the workspace', async () => {
    const outside = join(ws.parent, 'outside')
    await mkdir(outside)
    await symlink(outside, join(ws.dir, 'public'))
    await commitAll(ws.dir, 'a symlinked docroot')
    const manifest = await loadManifest('specs/create-blog.json')
    await expect(
      createGenerator('scaffold', DEFAULT_CONFIG).generate(requestFor(ws.dir, manifest)),
    ).rejects.toMatchObject({ code: 'escape', message: expect.stringContaining('public/') })
    expect(await readdir(outside)).toEqual([])
  })
})
