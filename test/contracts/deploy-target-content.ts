import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { RELEASE_MARKER } from '../../src/deploy/targets/release-plan.js'
import { type ContractContext, upload } from './deploy-target-context.js'

/**
 * The DeployTarget contract's content scenarios: what lands on the target (links, modes, the
 * marker) and that the generated blog is served from `current` across a switch and a redeploy.
 */
export function contentScenarios({
  impl,
  scenario,
  fresh,
  age,
  scratch,
  blog,
}: ContractContext): void {
  scenario(
    'deploys a link inside the release as a copy and a mode change as a change',
    async () => {
      const { target, files } = await fresh()
      const site = scratch('linked site')
      await mkdir(join(site, 'public'), { recursive: true })
      await mkdir(join(site, 'bin'))
      await writeFile(join(site, 'public/index.php'), '<?php echo "linked";')
      await symlink('index.php', join(site, 'public/home.php'))
      await writeFile(join(site, 'bin/run'), '#!/bin/sh\n', { mode: 0o644 })
      await chmod(join(site, 'bin/run'), 0o644)
      const a = { id: 'c'.repeat(40), dir: site }
      expect(await upload(target, a)).toMatchObject({ sent: 3, reused: 0 })
      await target.activate(a.id)
      expect((await files.stat('current/public/home.php')).type).toBe('file')
      expect(await files.read('current/public/home.php')).toBe('<?php echo "linked";')
      const marker = JSON.parse(await files.read(`current/${RELEASE_MARKER}`))
      expect(marker).toMatchObject({ id: a.id, fileCount: 3 })
      expect(Object.keys(marker.files)).toEqual(['bin/run', 'public/home.php', 'public/index.php'])

      // The executable bit alone is a change: sent, not hard-linked with the old mode.
      await chmod(join(site, 'bin/run'), 0o755)
      const b = { id: 'd'.repeat(40), dir: site }
      expect(await target.diff(b)).toEqual({ added: [], changed: ['bin/run'], removed: [] })
      expect(await upload(target, b)).toMatchObject(
        impl.reusesFiles ? { sent: 1, reused: 2 } : { sent: 3, reused: 0 },
      )
      expect((await files.stat(`releases/${b.id}/bin/run`)).mode).toBe(0o755)
      expect((await files.stat(`releases/${a.id}/bin/run`)).mode).toBe(0o644)
      expect(await files.list('releases')).toEqual([a.id, b.id])
    },
  )

  scenario(
    'deploys the blog: current switches to it and the pages answer',
    async () => {
      const { target, files, page } = await fresh(['uploads'])
      if (page === undefined) throw new Error('fresh() gave no page() for this target')
      expect(await target.state()).toEqual({ current: null, releases: [] })
      const result = await upload(target, blog.first)
      expect(result).toMatchObject({ alreadyThere: false, reused: 0 })
      expect(result.sent).toBeGreaterThan(10)
      expect(await target.state()).toEqual({ current: null, releases: [blog.first.id] })
      // The marker, written last: the release's id and every file sent.
      const marker = JSON.parse(await files.read(`releases/${blog.first.id}/${RELEASE_MARKER}`))
      expect(marker).toMatchObject({ id: blog.first.id, fileCount: result.sent })
      await target.activate(blog.first.id)
      expect(await target.state()).toEqual({ current: blog.first.id, releases: [blog.first.id] })
      expect(await files.readlink('current')).toBe(`releases/${blog.first.id}`)
      const home = await page('/')
      expect(home.status).toBe(200)
      expect(home.body).toContain('A small PHP blog')
      expect((await page('/style.css')).status).toBe(200)
      // The shared folder is a link out of the release.
      expect(await files.readlink(`releases/${blog.first.id}/uploads`)).toBe('../../shared/uploads')
    },
    { skip: !impl.serves },
  )

  scenario(
    'uploads the next release beside the live one, switches to it, and redeploys by switching only',
    async () => {
      const { target, files, page } = await fresh(['uploads'])
      if (page === undefined) throw new Error('fresh() gave no page() for this target')
      await upload(target, blog.first)
      await target.activate(blog.first.id)
      await age(files, blog.first.id, 10)
      expect(await target.diff(blog.second)).toEqual({
        added: [],
        changed: ['data/site.json'],
        removed: [],
      })
      const result = await upload(target, blog.second)
      const count = (
        await readdir(blog.first.dir, { recursive: true, withFileTypes: true })
      ).filter((e) => e.isFile()).length
      expect(result).toMatchObject(
        impl.reusesFiles
          ? { alreadyThere: false, sent: 1, reused: count - 1 }
          : { alreadyThere: false, sent: count, reused: 0 },
      )
      if (impl.reusesFiles) {
        const inode = async (id: string) =>
          (await files.stat(`releases/${id}/public/index.php`)).ino
        expect(await inode(blog.second.id)).toBe(await inode(blog.first.id))
      }
      // Uploaded, not live yet.
      expect((await page('/')).body).toContain('A small PHP blog')
      await files.write('shared/uploads/kept.txt', 'survives releases')
      await target.activate(blog.second.id)
      expect((await page('/')).body).toContain('Second edition')
      expect(await target.state()).toEqual({
        current: blog.second.id,
        releases: [blog.second.id, blog.first.id],
      })
      expect(await files.list('releases')).toEqual([blog.first.id, blog.second.id].sort())
      expect(await files.read('current/uploads/kept.txt')).toBe('survives releases')

      // A release that is there already: nothing is sent, the switch is all.
      expect(await upload(target, blog.first)).toEqual({
        alreadyThere: true,
        sent: 0,
        reused: 0,
        bytesSent: 0,
      })
      await target.activate(blog.first.id)
      expect((await page('/')).body).toContain('A small PHP blog')
      await target.activate(blog.second.id)
      expect((await page('/')).body).toContain('Second edition')
    },
    { skip: !impl.serves },
  )
}
