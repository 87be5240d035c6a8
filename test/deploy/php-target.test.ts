import Dockerode from 'dockerode'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execInContainer } from '../../src/deploy/targets/docker-exec.js'
import { createPhpTarget } from '../../src/deploy/targets/php-target.js'
import { DeployError, type Release } from '../../src/deploy/types.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { createBlogWorkspace } from '../runner/blog-workspace.js'
import { requirePhpApacheImage, startPhpApache } from './php-apache-container.js'
import { fetchWhenUp, retitleBlog, snapshotRelease } from './release-fixtures.js'

const hasDocker = await requirePhpApacheImage(
  'the php deploy target is tested against a real Apache + PHP container',
)
const silent = pino({ level: 'silent' })
const upload = (t: ReturnType<typeof createPhpTarget>, release: Release) =>
  t.upload(release, { signal: new AbortController().signal, log: silent })

// What every deploy target must do is in test/contracts/deploy-target.contract.ts, run against
// this target by test/contracts/deploy-target-php.test.ts; here is only what is the php target's
// own (Apache following the switch, odd roots, the container's disk, labels and lifecycle).

describe.skipIf(!hasDocker)('php deploy target against a real Apache + PHP container', () => {
  const docker = new Dockerode()
  let ws: TestWorkspace
  let php: Awaited<ReturnType<typeof startPhpApache>>
  const releases: (Release & { cleanup(): Promise<void> })[] = []
  const snapshot = async () => {
    const release = await snapshotRelease(ws.dir)
    releases.push(release)
    return release
  }
  const page = (path = '/') => fetchWhenUp(`${php.url}${path}`, 15_000)

  beforeAll(async () => {
    ws = await createBlogWorkspace()
    php = await startPhpApache(docker)
  }, 120_000)
  afterAll(async () => {
    await php?.remove()
    for (const release of releases) await release.cleanup()
    await ws?.cleanup()
  })

  let first: Release
  let second: Release
  it("serves the image's empty placeholder until the first release is switched to", async () => {
    const t = createPhpTarget({ container: php.name, docker, shared: ['uploads'] })
    expect((await page()).status).toBe(403) // the image's empty placeholder (no index, no listing)
    first = await snapshot()
    await upload(t, first)
    await t.activate(first.id)
    const home = await page()
    expect(home.status).toBe(200)
    expect(home.body).toContain('A small PHP blog')
  })

  it('switches to the next release atomically while pages are being served', async () => {
    const t = createPhpTarget({ container: php.name, docker, shared: ['uploads'] })
    await retitleBlog(ws.dir, 'Second edition')
    second = await snapshot()
    expect(await t.diff(second)).toEqual({ added: [], changed: ['data/site.json'], removed: [] })
    expect(await upload(t, second)).toMatchObject({ alreadyThere: false })
    expect((await page()).body).toContain('A small PHP blog') // uploaded, not live
    // Requests during ten switches each get a whole page of one release or the other.
    let switching = true
    const seen: string[] = []
    const load = (async () => {
      while (switching) {
        const { status, body } = await page()
        seen.push(
          `${status} ${body.includes('Second edition') ? 'new' : body.includes('A small PHP blog') ? 'old' : 'broken'}`,
        )
      }
    })()
    // Every Apache process must follow the link at once (no stale realpath or opcache entry).
    for (let i = 0; i < 10; i++) {
      await t.activate(i % 2 === 0 ? second.id : first.id)
      for (let j = 0; j < 3; j++) {
        expect((await page()).body).toContain(i % 2 === 0 ? 'Second edition' : 'A small PHP blog')
      }
    }
    await t.activate(second.id)
    switching = false
    await load
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.filter((s) => s !== '200 new' && s !== '200 old')).toEqual([])
    expect((await page()).body).toContain('Second edition')
    expect(await t.state()).toEqual({ current: second.id, releases: [second.id, first.id] })
  })

  it('prunes all but current and `previous`, the release live before it', async () => {
    const t = createPhpTarget({ container: php.name, docker })
    await t.activate(first.id)
    expect((await page()).body).toContain('A small PHP blog')
    const link = (name: string) =>
      execInContainer(docker, php.container, ['readlink', `/var/www/devsys/${name}`])
    expect(await link('previous')).toMatchObject({ code: 0, stdout: `releases/${second.id}\n` })
    // A release uploaded but never live is what prune may take.
    await retitleBlog(ws.dir, 'Third edition')
    const third = await snapshot()
    await upload(t, third)
    expect(await t.prune(5)).toEqual([])
    // Like every target, prune keeps `previous` (second, live just before first): a rollback
    // must find it. The release never live goes.
    expect(await t.prune(0)).toEqual([third.id])
    expect(await t.state()).toEqual({ current: first.id, releases: [second.id, first.id] })
    await expect(t.activate(third.id)).rejects.toMatchObject({ code: 'not-found', target: 'php' })
    expect(await link('previous')).toMatchObject({ code: 0, stdout: `releases/${second.id}\n` })
  })

  it('takes a root with spaces, quotes and $(...) literally', async () => {
    const root = "/srv/odd root $(touch /tmp/pwned) `id` 'q'"
    const t = createPhpTarget({ container: php.name, docker, root, shared: ['uploads'] })
    await upload(t, first)
    await t.activate(first.id)
    expect(await t.state()).toEqual({ current: first.id, releases: [first.id] })
    const check = await execInContainer(docker, php.container, [
      'sh',
      '-c',
      'test -f "$1/current/public/index.php" && test -L "$1/current/uploads" && test -d "$1/shared/uploads" && test ! -e /tmp/pwned',
      'sh',
      root,
    ])
    expect(check).toMatchObject({ code: 0 })
  })

  it('refuses a container its operator did not label as a deploy target, and writes nothing there', async () => {
    const other = await startPhpApache(docker, undefined, false)
    try {
      const t = createPhpTarget({ container: other.name, docker })
      const refused = await upload(t, first).catch((e: unknown) => e)
      expect(refused).toMatchObject({ code: 'unavailable', target: 'php' })
      expect((refused as Error).message).toContain('labelled org.devsys.deploy-target=php')
      await expect(t.activate(first.id)).rejects.toMatchObject({ code: 'unavailable' })
      const releases = await execInContainer(docker, other.container, [
        'ls',
        '-A',
        '/var/www/devsys/releases',
      ])
      expect(releases).toMatchObject({ code: 0, stdout: '' })
    } finally {
      await other.remove()
    }
  })

  it('says clearly when the container is stopped or gone, and deploys nothing', async () => {
    const other = await startPhpApache(docker)
    try {
      const t = createPhpTarget({ container: other.name, docker })
      await other.container.stop({ t: 0 })
      const stopped = await t.state().catch((e: unknown) => e)
      expect(stopped).toBeInstanceOf(DeployError)
      expect(stopped).toMatchObject({ code: 'unavailable', target: 'php' })
      expect((stopped as Error).message).toContain(`docker start ${other.name}`)
      await other.remove()
      const gone = await upload(t, first).catch((e: unknown) => e)
      expect(gone).toMatchObject({ code: 'not-found', target: 'php' })
      expect((gone as Error).message).toContain(`The container ${other.name} is gone`)
      await expect(t.activate(first.id)).rejects.toMatchObject({ code: 'not-found' })
    } finally {
      await other.remove()
    }
  })

  it('runs its scripts in one helper shell per container, kept across targets, new after a restart', {
    timeout: 60_000,
  }, async () => {
    // An engine whose containers count the execs made in them.
    let execs = 0
    const counting = Object.create(docker) as Dockerode
    counting.getContainer = (id: string) => {
      const container = docker.getContainer(id)
      const exec = container.exec.bind(container)
      container.exec = ((options: Dockerode.ExecCreateOptions) => {
        execs++
        return exec(options)
      }) as typeof container.exec
      return container
    }
    const helpers = new Map()
    const target = () => createPhpTarget({ container: php.name, docker: counting, helpers })
    const t = target()
    await t.activate(first.id)
    await t.activate(second.id)
    expect(await t.state()).toMatchObject({ current: second.id })
    await t.close()
    // A rollback by a new target (as /rollback makes one) uses the same shell.
    const rollback = target()
    await rollback.activate(first.id)
    expect(await rollback.state()).toMatchObject({ current: first.id })
    await rollback.close()
    expect(execs).toBe(1)
    // The container restarts: its helper is gone with it, and the next switch starts another.
    await php.container.restart({ t: 1 })
    const after = target()
    await after.activate(second.id)
    expect(await after.state()).toMatchObject({ current: second.id })
    expect(execs).toBe(2)
    expect((await page()).body).toContain('Second edition')
    for (const helper of helpers.values()) (await helper).close()
  })
})
