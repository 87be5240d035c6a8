import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  access,
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pino from 'pino'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { RELEASE_MARKER } from '../../src/deploy/targets/release-plan.js'
import {
  createSshPool,
  type SshPool,
  type SshPoolOptions,
} from '../../src/deploy/targets/ssh-pool.js'
import { createSshTarget, type SshTargetOptions } from '../../src/deploy/targets/ssh-target.js'
import { DeployError, type Release } from '../../src/deploy/types.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { commitAll } from '../generate/workspace.js'
import { requireTool } from '../helpers/require-tool.js'
import { freePort, requireCompose, requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { createBlogWorkspace } from '../runner/blog-workspace.js'
import { hostTempReleaseExists, startCuttingProxy, tempReleases } from './cutting-proxy.js'
import { PHP_APACHE_IMAGE, requirePhpApacheImage } from './php-apache-container.js'
import {
  fetchWhenUp,
  fetchWithPhpServer,
  retitleBlog,
  snapshotRelease,
} from './release-fixtures.js'

const hasSshd = await requireSshd('the ssh deploy target is tested against a real OpenSSH server')
const hasPhp = requireTool('php', 'serves the deployed blog from the release folder with php -S')
const hasCompose =
  hasSshd &&
  (await requireCompose('EXTERNAL_DEPLOY_RUN_COMPOSE runs docker compose up in a release')) &&
  (await requirePhpApacheImage("a release's compose service is built from the php target image"))
const silent = pino({ level: 'silent' })
const run = promisify(execFile)

// What every deploy target must do is in test/contracts/deploy-target.contract.ts, run against
// this target by test/contracts/deploy-target-ssh.test.ts; here is only what is the ssh target's
// own (a cut connection, how keep counts, compose, a full disk, round trips, host keys).

describe.skipIf(!hasSshd || !hasPhp)('ssh deploy target against a real sshd on loopback', () => {
  let ws: TestWorkspace
  let dir: string
  let root: string
  let sshd: Sshd
  const releases: (Release & { cleanup(): Promise<void> })[] = []
  const target = (extra: Partial<SshTargetOptions> = {}) =>
    createSshTarget({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKeyPath: sshd.privateKeyPath,
      knownHostsPath: sshd.knownHostsPath,
      root,
      shared: ['uploads'],
      log: silent,
      ...extra,
    })
  const upload = (release: Release, t = target()) =>
    t.upload(release, { signal: new AbortController().signal, log: silent })
  const snapshot = async () => {
    const release = await snapshotRelease(ws.dir)
    releases.push(release)
    return release
  }
  const served = () => fetchWithPhpServer(join(root, 'current/public'), '/')

  // Each test deploys to a root of its own and uploads the releases it needs, so none depends
  // on what an earlier test left on the host (or on the order the tests run in).
  let roots = 0
  const weirdRoot = (name: string) =>
    // Spaces, quotes and a command substitution in the root must arrive as those bytes.
    join(dir, `${name} ${++roots} $(touch ${join(dir, 'pwned')}) \`id\` 'q'`)
  /** Uploads `uploads` in order to the test's root and makes `live` current. */
  const setUp = async (uploads: Release[], live: Release) => {
    const t = target()
    for (const release of uploads) await upload(release, t)
    await t.activate(live.id)
    await t.close()
  }
  const names = async () => (await readdir(join(root, 'releases'))).sort()

  // Three commits of the blog: as generated, retitled, and with an 8 MiB incompressible file
  // (far more than an SSH channel window, so an upload of it is still running when the host
  // has made its temp folder).
  let first: Release
  let second: Release
  let third: Release
  beforeAll(async () => {
    ws = await createBlogWorkspace()
    dir = await mkdtemp(join(tmpdir(), 'devsys-ssh-deploy-'))
    await mkdir(join(dir, 'sshd'))
    sshd = await startSshd(join(dir, 'sshd'))
    first = await snapshot()
    await retitleBlog(ws.dir, 'Second edition')
    second = await snapshot()
    await writeFile(join(ws.dir, 'public/big.bin'), randomBytes(8 * 1024 * 1024))
    await commitAll(ws.dir, 'A big file')
    third = await snapshot()
  }, 60_000)
  beforeEach(() => {
    root = weirdRoot('deploy root')
  })
  afterAll(async () => {
    await sshd?.stop()
    for (const release of releases) await release.cleanup()
    await rm(dir, { recursive: true, force: true })
    await ws?.cleanup()
  })

  /** A target whose connections go through a proxy that faults once the host unpacks `id`. */
  const faultyTarget = async (id: string, fault: 'cut' | 'pass', onFault?: () => void) => {
    const proxy = await startCuttingProxy(sshd.port, {
      when: () => hostTempReleaseExists(root, id),
      fault,
      ...(onFault === undefined ? {} : { onFault }),
    })
    const knownHosts = join(dir, `known_hosts_proxy_${proxy.port}`)
    await writeFile(knownHosts, `[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}\n`)
    return { proxy, t: target({ port: proxy.port, knownHostsPath: knownHosts }) }
  }

  it('keeps the live site when the connection drops mid-upload, and cleans up next time', async () => {
    await setUp([first, second], second)
    // The cut comes once the host has made the temp release and tar is reading into it.
    const { proxy, t: cut } = await faultyTarget(third.id, 'cut')
    try {
      const error = await upload(third, cut).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DeployError)
      expect(error).toMatchObject({ code: 'upload-failed', target: 'ssh' })
      expect(proxy.cuts()).toBe(1)
    } finally {
      await cut.close()
      await proxy.stop()
    }
    // Live site untouched; the half-written release is exactly one temp folder, not a release.
    expect(await readlink(join(root, 'current'))).toBe(`releases/${second.id}`)
    expect((await served()).body).toContain('Second edition')
    const leftovers = tempReleases(root)
    expect(leftovers).toHaveLength(1)
    expect(leftovers[0]).toMatch(new RegExp(`^\\.tmp-${third.id}-[0-9a-f]{8}$`))
    expect(await target().state()).toMatchObject({
      current: second.id,
      releases: [second.id, first.id],
    })

    // The next upload clears it and completes the release.
    const t = target()
    expect(await upload(third, t)).toMatchObject({ alreadyThere: false, sent: 1 })
    expect(await names()).toEqual([first.id, second.id, third.id].sort())
    await t.close()
  })

  it('prunes the oldest releases but never the current one', async () => {
    await setUp([first, second, third], second)
    // Age is the marker's time; spell it out rather than rely on uploads a second apart.
    const hour = 3600
    const now = Date.now() / 1000
    for (const [release, age] of [
      [first, 3],
      [second, 2],
      [third, 1],
    ] as const) {
      const at = now - age * hour
      await utimes(join(root, 'releases', release.id, RELEASE_MARKER), at, at)
    }
    const t = target()
    expect(await t.state()).toEqual({
      current: second.id,
      releases: [third.id, second.id, first.id],
    })
    // current is `second`, which is not among the newest one: it is kept all the same, and it
    // counts towards keep (as on every target: keep 1 is the live release alone).
    expect(await t.prune(1)).toEqual([third.id, first.id])
    expect(await t.state()).toEqual({ current: second.id, releases: [second.id] })
    expect(await names()).toEqual([second.id])
    expect(await t.prune(5)).toEqual([])
    // Once `third` is live, `second` is `previous`, the instant rollback target: keep 1 keeps both.
    await upload(third, t)
    await t.activate(third.id)
    expect(await readlink(join(root, 'previous'))).toBe(`releases/${second.id}`)
    expect(await t.prune(1)).toEqual([])
    expect(await t.prune(0)).toEqual([])
    expect(await t.state()).toEqual({ current: third.id, releases: [third.id, second.id] })
    await t.close()
  })

  it('stops at once when the deploy is cancelled mid-upload, leaving current alone', async () => {
    await setUp([first], first)
    const controller = new AbortController()
    // Cancelled once the host is unpacking, before the next chunk of the 8 MiB tar is passed
    // on: the upload cannot have finished, whatever the machine's load.
    const { proxy, t } = await faultyTarget(third.id, 'pass', () => controller.abort())
    try {
      const started = Date.now()
      const error = await t
        .upload(third, { signal: controller.signal, log: silent })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'aborted', target: 'ssh' })
      expect(proxy.cuts()).toBe(1)
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      await t.close()
      await proxy.stop()
    }
    expect(await target().state()).toMatchObject({ current: first.id, releases: [first.id] })
    await expect(access(join(root, 'releases', third.id))).rejects.toThrow()
  })

  it('fails the upload with compose output when docker compose up fails in the release', async () => {
    await writeFile(join(ws.dir, 'public/compose.txt'), 'no compose file in this release\n')
    await commitAll(ws.dir, 'A release without docker-compose.yml')
    const fifth = await snapshot()
    await setUp([second], second)
    const t = target({ runCompose: true })
    const error = await upload(fifth, t).catch((e: unknown) => e)
    await t.close()
    expect(error).toMatchObject({ code: 'upload-failed', target: 'ssh' })
    expect((error as Error).message).toMatch(/docker compose up -d --build failed in .*releases/)
    expect(await target().state()).toMatchObject({ current: second.id })
  })

  it.skipIf(!hasCompose)(
    "starts the release's services with docker compose up -d --build, then switches",
    {
      timeout: 120_000,
    },
    async () => {
      // A release holding a compose file whose one service is built from the release itself:
      // Apache + PHP serving a copy of the release (its public/) on a loopback port of the host.
      const port = await freePort()
      await writeFile(
        join(ws.dir, 'docker-compose.yml'),
        `services:\n  web:\n    build: .\n    ports: ["127.0.0.1:${port}:80"]\n`,
      )
      await writeFile(
        join(ws.dir, 'Dockerfile'),
        `FROM ${PHP_APACHE_IMAGE}\nCOPY . /var/www/devsys/empty/\n`,
      )
      await commitAll(ws.dir, 'Serve the blog with docker compose')
      const composed = await snapshot()
      // Compose names the project after the folder it runs in: the release's id.
      const project = composed.id
      try {
        await setUp([second], second)
        const t = target({ runCompose: true })
        const uploaded = await upload(composed, t)
        await t.activate(composed.id)
        await t.close()
        expect(uploaded).toMatchObject({ alreadyThere: false })
        expect(await target().state()).toMatchObject({ current: composed.id })
        // The service runs, built from the release, and serves its blog.
        const { stdout } = await run('docker', ['compose', '-p', project, 'ps', '--format', 'json'])
        expect(stdout).toMatch(/"Service":"web"/)
        expect(stdout).toMatch(/"State":"running"/)
        const page = await fetchWhenUp(`http://127.0.0.1:${port}/`, 20_000)
        expect(page.status).toBe(200)
        expect(page.body).toContain('Second edition')
      } finally {
        // The project's containers, network, volumes and the image compose built.
        await run('docker', ['compose', '-p', project, 'down', '-v', '--rmi', 'local', '-t', '5'])
        await rm(join(ws.dir, 'docker-compose.yml'))
        await rm(join(ws.dir, 'Dockerfile'))
        await commitAll(ws.dir, 'Serve the blog without docker compose')
      }
      const { stdout: left } = await run('docker', [
        'ps',
        '-a',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--format',
        '{{.Names}}',
      ])
      expect(left).toBe('')
    },
  )

  /** A pool whose connections count their handshakes, exec channels and SFTP sessions. */
  const countingPool = (opts: SshPoolOptions = {}) => {
    const inner = createSshPool(opts)
    const seen = { handshakes: 0, execs: [] as string[], sftpSessions: 0 }
    const pool: SshPool = {
      ...inner,
      lease: (key, open) =>
        inner.lease(key, async () => {
          seen.handshakes++
          const client = await open()
          const exec = client.exec.bind(client) as unknown as (...args: unknown[]) => boolean
          client.exec = ((...args: unknown[]) => {
            seen.execs.push(String(args[0]))
            return exec(...args)
          }) as unknown as typeof client.exec
          const sftp = client.sftp.bind(client)
          client.sftp = ((cb: Parameters<typeof client.sftp>[0]) => {
            seen.sftpSessions++
            return sftp(cb)
          }) as typeof client.sftp
          return client
        }),
    }
    return { pool, seen }
  }

  it('uploads with one exec channel, switches over SFTP, and lists through one helper per connection', async () => {
    const site = join(dir, 'site')
    await mkdir(join(site, 'public'), { recursive: true })
    for (let i = 0; i < 2000; i++) {
      await writeFile(join(site, 'public', `page-${i}.html`), `<p>page ${i}</p>\n`)
    }
    const { pool, seen } = countingPool()
    const t = target({ root: join(dir, 'many files'), pool })
    const full = await upload({ id: 'a'.repeat(40), dir: site }, t)
    expect(full).toMatchObject({ sent: 2000, reused: 0 })
    expect(seen.execs).toHaveLength(1)
    await t.activate('a'.repeat(40))
    expect(seen.execs).toHaveLength(1)
    await writeFile(join(site, 'public/page-7.html'), '<p>page 7, edited</p>\n')
    const again = await upload({ id: 'b'.repeat(40), dir: site }, t)
    expect(again).toMatchObject({ sent: 1, reused: 1999 })
    await t.activate('b'.repeat(40))
    // One exec per upload; the switches and the markers went over the one SFTP session.
    expect(seen.execs).toHaveLength(2)
    expect(seen.execs.every((c) => c.includes('tar --no-same-owner -xf -'))).toBe(true)
    expect(seen.sftpSessions).toBe(1)
    // Listing and pruning start the helper once; after that they start no shell at all.
    for (let i = 0; i < 3; i++) await t.state()
    await t.prune(1)
    expect(seen.execs).toHaveLength(3)
    expect(seen.execs[2]).toMatch(/^end=--devsys-end-[0-9a-f]{16}--$/m)
    await t.close()
    // A rollback by a new target reuses the kept connection: no handshake, no shell.
    const rollback = target({ root: join(dir, 'many files'), pool })
    await rollback.activate('b'.repeat(40))
    expect(await rollback.state()).toMatchObject({ current: 'b'.repeat(40) })
    await rollback.close()
    expect(seen).toMatchObject({ handshakes: 1, sftpSessions: 1 })
    expect(seen.execs).toHaveLength(3)
    await pool.close()
  })

  it('closes kept connections when idle, and replaces one the host dropped', async () => {
    await setUp([first, second], second)
    let cutNext = false
    const proxy = await startCuttingProxy(sshd.port, {
      when: () => {
        const cut = cutNext
        cutNext = false
        return cut
      },
    })
    const knownHostsPath = join(dir, `known_hosts_pool_${proxy.port}`)
    await writeFile(knownHostsPath, `[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}\n`)
    const { pool, seen } = countingPool({ idleMs: 300 })
    const viaProxy = () => target({ port: proxy.port, knownHostsPath, pool })
    try {
      const t = viaProxy()
      await t.activate(first.id)
      await t.close()
      expect(pool.size()).toBe(1)
      // The network drops the kept connection: the next switch connects again and succeeds.
      cutNext = true
      const again = viaProxy()
      await again.activate(second.id)
      await again.close()
      expect(proxy.cuts()).toBe(1)
      expect(seen.handshakes).toBe(2)
      expect(await readlink(join(root, 'current'))).toBe(`releases/${second.id}`)
      // Nobody leases it for idleMs: closed.
      await new Promise((resolve) => setTimeout(resolve, 600))
      expect(pool.size()).toBe(0)
    } finally {
      await pool.close()
      await proxy.stop()
    }
  })

  it('points `previous` at the release that was live, over SFTP', async () => {
    const ids = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(64)] as const
    const [A, B, C] = ids
    for (const id of ids) {
      await mkdir(join(root, 'releases', id), { recursive: true })
      await writeFile(join(root, 'releases', id, RELEASE_MARKER), '{}')
    }
    const t = target()
    const links = async () => (await readdir(root)).sort()
    await t.activate(A)
    // The first switch has nothing before it.
    expect(await links()).toEqual(['current', 'releases'])
    await t.activate(B)
    expect(await readlink(join(root, 'previous'))).toBe(`releases/${A}`)
    // Switching to what is live already leaves `previous` alone.
    await t.activate(B)
    expect(await readlink(join(root, 'previous'))).toBe(`releases/${A}`)
    await t.activate(C)
    expect(await readlink(join(root, 'current'))).toBe(`releases/${C}`)
    expect(await readlink(join(root, 'previous'))).toBe(`releases/${B}`)
    // A rollback to previous makes the release it leaves the new previous.
    await t.activate(B)
    expect(await readlink(join(root, 'previous'))).toBe(`releases/${C}`)
    // A `current` that names no release (made by hand) gives no `previous`.
    await rm(join(root, 'previous'))
    for (const odd of ['somewhere/else', 'releases/abc', `releases/${A}0`]) {
      await rm(join(root, 'current'))
      await symlink(odd, join(root, 'current'))
      await t.activate(A)
      expect(await links()).toEqual(['current', 'releases'])
      expect(await readlink(join(root, 'current'))).toBe(`releases/${A}`)
    }
    await t.close()
    await expect(access(join(dir, 'pwned'))).rejects.toThrow()
  })

  it('clears a marker-less folder of the release once it is no longer live', async () => {
    // Left by an older DevSys: refused while live (the contract suite), replaced once not.
    const legacy = join(root, 'releases', second.id)
    await mkdir(legacy, { recursive: true })
    await writeFile(join(legacy, 'index.php'), 'old format')
    await writeFile(join(legacy, '.devsys-files.json'), '{}')
    const t = target()
    expect(await upload(second, t)).toMatchObject({ alreadyThere: false })
    await t.close()
    await expect(access(join(legacy, 'index.php'))).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(access(join(legacy, RELEASE_MARKER))).resolves.toBeUndefined()
  })

  it('says the host is unreachable when nothing listens', async () => {
    const port = await freePort()
    // A known key for that port, so the target gets as far as connecting.
    const knownHostsPath = join(dir, 'known_hosts_down')
    await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${sshd.hostPublicKey}\n`)
    const error = await target({ port, knownHostsPath })
      .state()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'unavailable', target: 'ssh' })
    expect((error as Error).message).toMatch(
      /Cannot reach the deploy host .*or fix the environment's ssh\.host \/ ssh\.port in \.github\/devsys\.yml/,
    )
  })

  it('refuses a host whose key is not in known_hosts, before sending anything', async () => {
    const otherKnownHosts = join(dir, 'known_hosts_other')
    await appendFile(
      otherKnownHosts,
      `[127.0.0.1]:${sshd.port} ssh-ed25519 ${randomBytes(51).toString('base64')}\n`,
    )
    const error = await target({ knownHostsPath: otherKnownHosts })
      .state()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'unavailable', target: 'ssh' })
    expect((error as Error).message).toMatch(/known_hosts/)
  })

  it("names the deploy's settings, not the test runner's, when the host's key is unknown", async () => {
    const empty = join(dir, 'known_hosts_empty')
    await writeFile(empty, '')
    const error = await target({ knownHostsPath: empty })
      .state()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'unavailable', target: 'ssh' })
    const message = (error as Error).message
    expect(message).toContain(`${empty} has no key for [127.0.0.1]:${sshd.port}`)
    expect(message).toMatch(/set EXTERNAL_DEPLOY_KNOWN_HOSTS to that file\.$/)
    expect(message).not.toContain('REMOTE_')
  })
})
