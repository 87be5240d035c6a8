import { execFile } from 'node:child_process'
import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createSshRunner, type SshRunnerOptions } from '../../runner/ssh/create-ssh-runner.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { requireTool } from '../helpers/require-tool.js'
import { freePort, requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { createBlogWorkspace, runRequest, testCount } from './blog-workspace.js'

const run = promisify(execFile)
const hasSshd = await requireSshd('the SSH runner is tested against a real OpenSSH server')
const hasPhp = requireTool(
  'phpunit',
  'the generated blog is tested with its PHPUnit suite on the SSH host',
)
const silent = pino({ level: 'silent' })

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

  it.skipIf(!hasPhp)(
    "runs the generated blog's PHPUnit suite on the host and downloads the report",
    async () => {
      const result = await runner().run(runRequest(ws.dir))
      expect(result).toMatchObject({ runner: 'remote-ssh', exitCode: 0, timedOut: false })
      expect(result.stdout.text).toMatch(/OK \(\d+ tests/)
      expect(result.report.kind).toBe('found')
      if (result.report.kind === 'found') expect(testCount(result.report.xml)).toBeGreaterThan(0)
    },
  )

  it('reports the folder the command ran in as workdir, for report paths', async () => {
    const result = await runner().run(runRequest(ws.dir, { command: ['sh', '-c', 'pwd -P'] }))
    expect(result.workdir).toMatch(/^\//)
    expect(result.stdout.text.trim()).toBe(result.workdir)
  })

  it('passes every argument literally: $(…), ;, quotes and globs reach the program unchanged', async () => {
    const marker = join(dir, 'pwned')
    const argv = [
      `$(touch ${marker})`,
      `; touch ${marker}`,
      "it's",
      `\`touch ${marker}\``,
      '*',
      'a\nb',
      '"$HOME"',
      '\\',
      '',
    ]
    const result = await runner().run(runRequest(ws.dir, { command: ['printf', '<%s>', ...argv] }))
    expect(result.stdout.text).toBe(argv.map((a) => `<${a}>`).join(''))
    await expect(access(marker)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('runs with a scrubbed environment: remote PATH, its own HOME and TMPDIR, LANG and the request env', async () => {
    const result = await runner().run(
      runRequest(ws.dir, { command: ['env'], env: { APP_ENV: 'test' } }),
    )
    const names = result.stdout.text
      .trim()
      .split('\n')
      .map((line) => line.split('=')[0])
    expect(names.sort()).toEqual(['APP_ENV', 'HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR'])
    expect(result.stdout.text).toContain(`HOME=${remoteDir}/devsys-run.`)
  })

  it('kills the remote process group at the time limit', async () => {
    const started = Date.now()
    const result = await runner().run(
      runRequest(ws.dir, {
        command: ['sh', '-c', 'sleep 1000 & echo $!; trap "" TERM; while :; do sleep 1; done'],
        timeoutMs: 1000,
      }),
    )
    expect(result).toMatchObject({ timedOut: true, exitCode: null, report: { kind: 'missing' } })
    expect(Date.now() - started).toBeLessThan(10_000)
    // sshd runs on this machine, so the background process can be looked for here.
    const background = Number(result.stdout.text.trim())
    expect(background).toBeGreaterThan(0)
    expect(() => process.kill(background, 0)).toThrow(/ESRCH/)
  })

  it('keeps only the tail of a gigabyte of output', async () => {
    const total = 1_000_000_000
    const result = await runner().run(
      runRequest(ws.dir, {
        command: ['sh', '-c', `yes | head -c ${total}`],
        maxOutputBytes: 10_000,
      }),
    )
    expect(result.exitCode).toBe(0)
    expect(result.stdout.text).toBe('y\n'.repeat(5000))
    expect(result.stdout.droppedBytes).toBe(total - 10_000)
  }, 60_000)

  it('reports a command that writes no report as a missing report', async () => {
    const result = await runner().run(runRequest(ws.dir, { command: ['sh', '-c', 'exit 4'] }))
    expect(result).toMatchObject({ exitCode: 4, report: { kind: 'missing' } })
  })

  it('cleans up when aborted', async () => {
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 1000)
    await expect(
      runner().run(runRequest(ws.dir, { command: ['sleep', '600'], signal: abort.signal })),
    ).rejects.toMatchObject({ code: 'aborted', runner: 'remote-ssh' })
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
