import { execFile } from 'node:child_process'
import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createSshRunner, type SshRunnerOptions } from '../../runner/ssh/create-ssh-runner.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { freePort, requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { createBlogWorkspace, runRequest } from './blog-workspace.js'

const run = promisify(execFile)
const hasSshd = await requireSshd('the SSH runner is tested against a real OpenSSH server')
const silent = pino({ level: 'silent' })

// What every runner must do is in test/contracts/runner.contract.ts, run against this runner by
// test/contracts/runner-ssh.test.ts; here is only what is the ssh runner's own (host keys, auth).

describe.skipIf(!hasSshd)('ssh runner against a real sshd on loopback', () => {
  let ws: TestWorkspace
  let dir: string
  let remoteDir: string
  let sshd: Sshd
  beforeAll(async () => {
    ws = await createBlogWorkspace()
    dir = await mkdtemp(join(tmpdir(), 'devsys-sshd-'))
    remoteDir = join(dir, 'remote')
    await run('mkdir', [remoteDir])
    sshd = await startSshd(dir)
  }, 60_000)
  afterAll(async () => {
    await sshd?.stop()
    await rm(dir, { recursive: true, force: true })
    await ws?.cleanup()
  })
  afterEach(async () => {
    // Every run removes its remote directory, whatever happened.
    expect(await readdir(remoteDir)).toEqual([])
  })

  const runner = (extra: Partial<SshRunnerOptions> = {}) =>
    createSshRunner({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKeyPath: sshd.privateKeyPath,
      knownHostsPath: sshd.knownHostsPath,
      remoteDir,
      killGraceMs: 300,
      log: silent,
      ...extra,
    })

  it('refuses a host whose key differs from known_hosts, and runs nothing', async () => {
    const other = join(dir, 'other_key')
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    const { stdout } = await run('cat', [`${other}.pub`])
    const wrong = join(dir, 'wrong_known_hosts')
    await writeFile(wrong, `[127.0.0.1]:${sshd.port} ${stdout.split(' ').slice(0, 2).join(' ')}\n`)
    const marker = join(dir, 'ran')
    await expect(
      runner({ knownHostsPath: wrong }).run(runRequest(ws.dir, { command: ['touch', marker] })),
    ).rejects.toMatchObject({
      code: 'host-key-mismatch',
      message: expect.stringMatching(new RegExp(`\\[127\\.0\\.0\\.1\\]:${sshd.port}.*ssh-keyscan`)),
    })
    await expect(access(marker)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('refuses to connect without known_hosts, unless insecure connections are allowed (with a warning)', async () => {
    const withoutKnownHosts = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKeyPath: sshd.privateKeyPath,
      remoteDir,
    }
    await expect(
      createSshRunner({ ...withoutKnownHosts, log: silent }).run(
        runRequest(ws.dir, { command: ['true'] }),
      ),
    ).rejects.toMatchObject({
      code: 'host-key-unknown',
      message: expect.stringContaining('REMOTE_SSH_KNOWN_HOSTS'),
    })

    const lines: string[] = []
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) })
    const result = await createSshRunner({ ...withoutKnownHosts, allowInsecure: true, log }).run(
      runRequest(ws.dir, { command: ['echo', 'ran'] }),
    )
    expect(result.stdout.text).toBe('ran\n')
    expect(lines.join('')).toContain('INSECURE')
  })

  it('accepts the host listed in a known_hosts file hashed by ssh-keygen -H', async () => {
    const hashed = join(dir, 'hashed_known_hosts')
    await writeFile(hashed, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`)
    await run('ssh-keygen', ['-H', '-f', hashed])
    const result = await runner({ knownHostsPath: hashed }).run(
      runRequest(ws.dir, { command: ['echo', 'ok'] }),
    )
    expect(result.stdout.text).toBe('ok\n')
  })

  it('says a host that is down cannot be reached', async () => {
    const port = await freePort()
    // A known key for that port, so the runner gets as far as connecting.
    const knownHostsPath = join(dir, 'down_known_hosts')
    await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${sshd.hostPublicKey}\n`)
    await expect(runner({ port, knownHostsPath }).run(runRequest(ws.dir))).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining(`[127.0.0.1]:${port} (ECONNREFUSED)`),
    })
  })

  it('says which user and key the host refused', async () => {
    const stranger = join(dir, 'stranger_key')
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger])
    await expect(
      runner({ privateKeyPath: stranger }).run(runRequest(ws.dir)),
    ).rejects.toMatchObject({ code: 'auth-failed', message: expect.stringContaining(stranger) })
  })
})
