/**
 * Issue 16, as a user sees it, against DevSys as its own process: a repository whose production
 * is an ssh host (a real OpenSSH server on loopback, allowed by EXTERNAL_DEPLOY_SSH_ALLOW). The
 * task's merge is deployed there and served; a person's revert is deployed next, on the SSH
 * connection DevSys kept from the first deploy: every deploy, switch, listing and monitor
 * check of the run goes over that one connection (a counting proxy in front of sshd sees one).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { freePort, requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { commitOnMain } from './agent-steps.js'
import { OWNER, REPO, useE2eWorld } from './e2e-world.js'
import { revParse } from './github-repo-routes.js'
import { BLOG_MANIFEST, deployedStatus, mergeAndDeploy, pushPayload } from './scenario-steps.js'

const hasPhp =
  requireTool('php', 'the deployed blog is served by php -S from the ssh host folder') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit before the merge")
const hasSshd = await requireSshd('production is an ssh host: a real OpenSSH server on loopback')

const world = useE2eWorld()
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A TCP proxy to sshd that counts the connections made through it. */
async function countingProxy(port: number): Promise<{ port: number; connections(): number }> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    connections++
    const upstream = new Socket()
    sockets.add(client).add(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined)
      socket.on('close', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    upstream.connect(port, '127.0.0.1')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  )
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { port: address.port, connections: () => connections }
}

/** php -S over the deploy folder, with no realpath cache: each request follows `current`. */
async function servePhp(docroot: string): Promise<string> {
  const port = await freePort()
  const php: ChildProcess = spawn(
    'php',
    ['-d', 'realpath_cache_size=0', '-S', `127.0.0.1:${port}`, '-t', docroot],
    { stdio: 'ignore' },
  )
  cleanups.push(() => {
    php.kill('SIGTERM')
  })
  return `http://127.0.0.1:${port}`
}

describe.skipIf(!hasPhp || !hasSshd)('ssh production on a kept connection, end to end', () => {
  it('deploys the merge and then a person’s revert over one SSH connection, each served at once', {
    timeout: 420_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devsys-e2e-ssh-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'sshd'))
    const sshd: Sshd = await startSshd(join(dir, 'sshd'))
    cleanups.push(() => sshd.stop())
    const proxy = await countingProxy(sshd.port)
    const knownHosts = join(dir, 'known_hosts')
    writeFileSync(knownHosts, `[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}\n`)
    const hostBase = join(dir, 'sites')
    const siteRoot = join(hostBase, OWNER, REPO, 'production')
    mkdirSync(siteRoot, { recursive: true })
    const served = await servePhp(siteRoot)

    // The repository says production is the ssh host; the server allows it that host.
    commitOnMain(
      world,
      {
        '.github/devsys.yml': [
          'environments:',
          '  production:',
          '    target: ssh',
          `    url: ${served}/current/public`,
          `    ssh: { host: 127.0.0.1, port: ${proxy.port}, user: ${sshd.username} }`,
          '',
        ].join('\n'),
      },
      'Deploy production to the ssh host',
    )
    const manifest = JSON.parse(BLOG_MANIFEST) as { deploy: { target: string } }
    manifest.deploy.target = 'ssh'
    await world.startDevsys({
      env: {
        EXTERNAL_DEPLOY_SSH_KEY_PATH: sshd.privateKeyPath,
        EXTERNAL_DEPLOY_KNOWN_HOSTS: knownHosts,
        EXTERNAL_DEPLOY_SSH_ALLOW: `${OWNER}/${REPO}=${sshd.username}@127.0.0.1:${proxy.port}${hostBase}`,
        // The site is served on loopback here, which acceptance checks refuse unless allowed.
        ACCEPTANCE_ALLOWED_HOSTS: '127.0.0.1',
      },
    })
    const { github, remote, cloneUrl, logTail } = world

    // 1. The task's merge is deployed to the host and served (mergeAndDeploy fetches the page).
    const { work, merge, site } = await mergeAndDeploy(world, {
      manifest: JSON.stringify(manifest),
    })
    expect(site).toBe(`${served}/current/public`)
    const blog = readlinkSync(join(siteRoot, 'current'))
    expect(blog).toBe(`releases/${git(remote.bare, 'rev-parse', `${merge}^{tree}`)}`)

    // 2. A person reverts the merge; DevSys deploys the revert, over the same connection.
    git(work, 'revert', '--no-edit', '-m', '1', merge)
    git(work, 'push', '-q', 'origin', 'main')
    const revert = revParse(remote.bare, 'main')
    const push = pushPayload({
      bare: remote.bare,
      ref: 'refs/heads/main',
      before: merge,
      after: revert,
      cloneUrl,
    })
    expect((await world.devsys.sendWebhook('push', push)).status).toBe(200)
    const second = await deployedStatus(world, revert)
    expect(second.state, logTail()).toBe('success')
    expect((await httpRequest(`${site}/post.php?id=1`)).status).toBe(404)
    expect(readlinkSync(join(siteRoot, 'current'))).toBe(
      `releases/${git(remote.bare, 'rev-parse', `${revert}^{tree}`)}`,
    )
    // The release before it is `previous`, the instant rollback target.
    expect(readlinkSync(join(siteRoot, 'previous'))).toBe(blog)

    // One SSH connection for both deploys, their switches and listings, and the monitor.
    expect(proxy.connections(), logTail()).toBe(1)
    expect(github.problems()).toEqual([])
  })
})
