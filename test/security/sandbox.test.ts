import { randomBytes } from 'node:crypto'
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLocalRunner } from '../../runner/local/create-local-runner.js'
import { DEFAULT_SANDBOX, type SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'
import { servePhp } from '../../src/deploy/serve-local.js'
import { createGenerator } from '../../src/generate/create-generator.js'
import {
  createWorkspace,
  loadManifest,
  requestFor,
  type TestWorkspace,
} from '../generate/workspace.js'
import { processesWith } from '../helpers/processes.js'
import { requireTool } from '../helpers/require-tool.js'
import { runRequest } from '../runner/blog-workspace.js'

/**
 * Task code against DevSys's secrets: a test command, a generator command and a deployed PHP
 * page, each hostile (test/fixtures/attacks), each run as DevSys runs it by default. DevSys's
 * secrets are in this process's environment (as in production, where /proc/<pid>/environ
 * shows them), in a DATA_DIR and in a key file; a loopback port stands for DevSys's own API.
 */
const root = process.getuid?.() === 0
const hasTools =
  requireTool('bwrap', 'task code runs in the bubblewrap sandbox') &&
  requireTool('php', 'the hostile page and the network probe are PHP')

const secrets = {
  WEBHOOK_SECRET: `whsec-${randomBytes(12).toString('hex')}`,
  MANAGER_API_TOKEN: `mgr-${randomBytes(12).toString('hex')}`,
  PRIVATE_KEY: `-----BEGIN RSA PRIVATE KEY-----\n${randomBytes(24).toString('base64')}\n-----END RSA PRIVATE KEY-----`,
}
const storeCanary = `store-row-${randomBytes(8).toString('hex')}`
const keyCanary = `key-material-${randomBytes(8).toString('hex')}`
const fixtures = new URL('../fixtures/attacks/', import.meta.url).pathname

let dataDir: string
let keyFile: string
let checkout: TestWorkspace
let api: Server
let apiPort: number
const connections: string[] = []
const saved = { ...process.env }

beforeAll(async () => {
  Object.assign(process.env, secrets)
  dataDir = await mkdtemp(join(tmpdir(), 'devsys-data-'))
  // World-readable on purpose: only the sandbox's view of the host protects it.
  await chmod(dataDir, 0o755)
  await writeFile(join(dataDir, 'devsys.sqlite'), storeCanary, { mode: 0o644 })
  keyFile = join(dataDir, 'app.private-key.pem')
  await writeFile(keyFile, keyCanary, { mode: 0o600 })
  checkout = await createWorkspace()
  await copyFile(join(fixtures, 'steal.sh'), join(checkout.dir, 'steal.sh'))
  await chmod(join(checkout.dir, 'steal.sh'), 0o755)
  api = createServer((socket) => {
    connections.push('connected')
    socket.end('devsys api\n')
  })
  await new Promise<void>((done) => api.listen(0, '127.0.0.1', done))
  apiPort = (api.address() as { port: number }).port
}, 30_000)

afterAll(async () => {
  process.env = saved
  api?.close()
  await checkout?.cleanup()
  await rm(dataDir, { recursive: true, force: true })
})

/** No secret, store row or key byte of DevSys's in `text`. */
function expectNothingStolen(text: string): void {
  for (const value of [...Object.values(secrets), storeCanary, keyCanary]) {
    expect(text).not.toContain(value)
  }
  expect(text).not.toContain('WEBHOOK_SECRET=')
}

describe.skipIf(!hasTools)('the sandbox for task code', () => {
  it('keeps a hostile test command away from secrets, data, keys, DevSys and the host', async () => {
    const result = await createLocalRunner().run(
      runRequest(checkout.dir, {
        command: ['./steal.sh', dataDir, keyFile, checkout.dir, String(apiPort)],
      }),
    )
    const out = result.stdout.text
    expect(result.exitCode).toBe(0)
    expectNothingStolen(out + result.stderr.text)
    if (root) expect(out).toContain('uid=65534\n')
    // Its own pid namespace: a handful of processes, DevSys not among them.
    expect(Number(/pids=(\d+)/.exec(out)?.[1])).toBeLessThan(10)
    expect(out).toMatch(/data=.*No such file or directory/)
    expect(out).toMatch(/key=.*No such file or directory/)
    expect(out).toMatch(/docker=.*No such file or directory/)
    expect(out).toContain('checkout=denied')
    expect(out).toContain('etc=denied')
    expect(out).toContain('usr=denied')
    expect(out).toContain('loopback=refused')
    expect(out).toContain('own=written')
    expect(connections).toEqual([])
    await expect(stat(join(checkout.dir, 'pwned'))).rejects.toThrow(/ENOENT/)
    await expect(stat('/etc/devsys-pwned')).rejects.toThrow(/ENOENT/)
  })

  it('keeps a hostile generator command (coding agent) away from the same', async () => {
    const manifest = await loadManifest('specs/create-blog.json')
    const generator = createGenerator(
      'command',
      {
        kind: 'command',
        command: [
          'sh',
          '-c',
          './steal.sh "$@" >&2; exit 3',
          'agent',
          dataDir,
          keyFile,
          '/nonexistent',
          String(apiPort),
        ],
        maxIterations: 1,
        budgetSeconds: 3600,
        timeoutSeconds: 30,
        forbiddenPaths: [],
      },
      { sandbox: { ...DEFAULT_SANDBOX, agentNetwork: 'loopback' } },
    )
    const error = await generator
      .generate(requestFor(checkout.dir, manifest))
      .catch((e: unknown) => e)
    const message = (error as Error).message
    expect(message).toContain('exited with code 3')
    expectNothingStolen(message)
    if (root) expect(message).toContain('uid=65534')
    expect(message).toContain('etc=denied')
    expect(message).toContain('loopback=refused')
    expect(connections).toEqual([])
  })

  it('keeps a hostile deployed page away from the same, with only shared/ writable', async () => {
    const site = await mkdtemp(join(tmpdir(), 'devsys-site-'))
    const release = join(site, 'releases', 'r1')
    await mkdir(join(release, 'public'), { recursive: true })
    await mkdir(join(site, 'shared'), { recursive: true })
    const page = (await readFile(join(fixtures, 'pwn.php'), 'utf8'))
      .replaceAll('__DATA_DIR__', dataDir)
      .replaceAll('__KEY_FILE__', keyFile)
      .replaceAll('__RELEASE__', release)
      .replaceAll('__SHARED__', join(site, 'shared'))
    await writeFile(join(release, 'public', 'pwn.php'), page)
    await symlink('releases/r1', join(site, 'current'))
    const owner = root ? { uid: DEFAULT_SANDBOX.uid, gid: DEFAULT_SANDBOX.gid } : undefined
    if (owner)
      await import('node:fs/promises').then((fs) =>
        fs.chown(join(site, 'shared'), owner.uid, owner.gid),
      )
    const server = await servePhp(site)
    try {
      const out = await (await fetch(`${server.url}/pwn.php`)).text()
      expectNothingStolen(out)
      if (root) expect(out).toContain('uid=65534\n')
      expect(out).toContain('data=absent')
      expect(out).toContain('key=\n')
      expect(out).toContain('docker=absent')
      expect(out).toContain('etc=denied')
      expect(out).toContain('release=denied')
      expect(out).toContain('shared=written')
      expect(await readFile(join(site, 'shared', 'upload.txt'), 'utf8')).toBe('ok')
    } finally {
      await server.stop()
      await rm(site, { recursive: true, force: true })
    }
  })

  it('enforces the limits on processes, memory and disk', async () => {
    const tight: SandboxSettings = {
      ...DEFAULT_SANDBOX,
      limits: {
        ...DEFAULT_SANDBOX.limits,
        processes: 40,
        memoryBytes: 256 * 1024 * 1024,
        diskBytes: 8 * 1024 * 1024,
      },
    }
    // Forks last: once the process limit is hit, the shell itself cannot fork any more.
    const script = [
      'php -d memory_limit=-1 -r \'$s = str_repeat("x", 512 * 1024 * 1024); echo "memory=GOT\\n";\' 2>/dev/null || echo "memory=refused"',
      'head -c 20000000 /dev/zero > big 2>/dev/null; echo "disk=$(wc -c < big)"',
      'i=0; while [ $i -lt 80 ]; do sleep 2 & i=$((i+1)); echo "forked $i"; done',
    ].join('\n')
    const result = await createLocalRunner({ sandbox: tight, killGraceMs: 300 }).run(
      runRequest(checkout.dir, { command: ['sh', '-c', script], timeoutMs: 30_000 }),
    )
    const out = result.stdout.text
    const forked = out.split('\n').filter((line) => line.startsWith('forked ')).length
    expect(forked).toBeGreaterThan(0)
    expect(forked).toBeLessThan(40)
    expect(out).toContain('memory=refused')
    expect(Number(/disk=(\d+)/.exec(out)?.[1])).toBeLessThanOrEqual(8 * 1024 * 1024)
  }, 60_000)

  it('leaves nothing behind when stopped at any moment of its start', async () => {
    const marker = `4321.${process.pid}`
    const runner = createLocalRunner({ killGraceMs: 100 })
    for (let i = 0; i < 16; i++) {
      const abort = new AbortController()
      setTimeout(() => abort.abort(), i * 4)
      await runner
        .run(runRequest(checkout.dir, { command: ['sleep', marker], signal: abort.signal }))
        .catch(() => undefined)
    }
    await new Promise((done) => setTimeout(done, 300))
    expect(processesWith(marker)).toEqual([])
  }, 60_000)

  it('refuses to run when the sandbox cannot start, instead of running unconfined', async () => {
    // Limits so tight that nothing can start under them: the sandbox's probe fails.
    const unusable: SandboxSettings = {
      ...DEFAULT_SANDBOX,
      limits: { ...DEFAULT_SANDBOX.limits, memoryBytes: 1024 * 1024 },
    }
    const marker = join(checkout.parent, 'ran-unconfined')
    await expect(
      createLocalRunner({ sandbox: unusable }).run(
        runRequest(checkout.dir, { command: ['touch', marker] }),
      ),
    ).rejects.toMatchObject({
      name: 'RunnerError',
      code: 'unavailable',
      message: expect.stringContaining('DEVSYS_UNSAFE_NO_SANDBOX'),
    })
    await expect(stat(marker)).rejects.toThrow(/ENOENT/)
  })
})
