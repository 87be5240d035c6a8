import { lstat, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createLocalRunner } from '../../runner/local/create-local-runner.js'
import { DEFAULT_SANDBOX } from '../../runner/sandbox/sandbox-settings.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { processesWith } from '../helpers/processes.js'
import { requireTool } from '../helpers/require-tool.js'
import { createBlogWorkspace, runRequest, testCount } from './blog-workspace.js'

const hasPhp =
  requireTool('php', 'the generated blog is tested with PHP') &&
  requireTool('phpunit', 'the generated blog is tested with its PHPUnit suite')

let ws: TestWorkspace
let runs: string
beforeAll(async () => {
  ws = await createBlogWorkspace()
}, 60_000)
afterAll(async () => {
  await ws.cleanup()
})
beforeEach(async () => {
  runs = await mkdtemp(join(tmpdir(), 'devsys-runs-'))
})
afterEach(async () => {
  // Every run removes its own directory, whatever happened.
  expect(await readdir(runs)).toEqual([])
  await rm(runs, { recursive: true, force: true })
})

const runner = () => createLocalRunner({ tmpDir: runs, killGraceMs: 300 })

describe.skipIf(!hasPhp)('local runner with real PHPUnit', () => {
  it("runs the generated blog's suite on a copy and brings its JUnit report back", async () => {
    const result = await runner().run(runRequest(ws.dir))
    expect(result).toMatchObject({ runner: 'local', exitCode: 0, timedOut: false })
    expect(result.stdout.text).toMatch(/OK \(\d+ tests/)
    expect(result.report.kind).toBe('found')
    if (result.report.kind === 'found') expect(testCount(result.report.xml)).toBeGreaterThan(0)
    // The report was written into the copy, not into the checkout.
    await expect(lstat(join(ws.dir, 'build'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('local runner', () => {
  it("gives the command none of DevSys's environment: only PATH, HOME, TMPDIR, LANG and the request's env", async () => {
    const saved = { ...process.env }
    Object.assign(process.env, {
      GITHUB_TOKEN: 'ghs_secret_token',
      GH_TOKEN: 'gho_other',
      PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----',
      WEBHOOK_SECRET: 'hook-secret',
      MANAGER_API_TOKEN: 'manager-secret',
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
    })
    try {
      const result = await runner().run(
        runRequest(ws.dir, { command: ['env'], env: { APP_ENV: 'test' } }),
      )
      const names = result.stdout.text
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0])
      expect(names.sort()).toEqual(['APP_ENV', 'HOME', 'LANG', 'PATH', 'TMPDIR'])
      expect(result.stdout.text).not.toMatch(/secret|ghs_|gho_|PRIVATE/)
      // HOME and TMPDIR are the sandbox's own /tmp, in memory.
      expect(result.stdout.text).toContain('HOME=/tmp\n')
    } finally {
      process.env = saved
    }
  })

  it('kills the whole process group at the time limit, also what ignores SIGTERM', async () => {
    const started = Date.now()
    // A sleep with an argument no other process has, to find it on the host afterwards.
    const marker = `1000.${process.pid}${Date.now() % 100_000}`
    const result = await runner().run(
      runRequest(ws.dir, {
        command: ['sh', '-c', `sleep ${marker} & echo $!; trap "" TERM; while :; do sleep 1; done`],
        timeoutMs: 500,
      }),
    )
    expect(result).toMatchObject({ timedOut: true, exitCode: null, report: { kind: 'missing' } })
    expect(Date.now() - started).toBeLessThan(5000)
    expect(Number(result.stdout.text.trim())).toBeGreaterThan(0)
    expect(processesWith(marker)).toEqual([])
  })

  it('keeps only the tail of gigabytes of output and counts the rest', async () => {
    const total = 2_000_000_000
    const result = await runner().run(
      runRequest(ws.dir, {
        command: ['sh', '-c', `yes | head -c ${total}`],
        maxOutputBytes: 10_000,
      }),
    )
    expect(result.exitCode).toBe(0)
    expect(result.stdout.text).toBe('y\n'.repeat(5000))
    expect(result.stdout.droppedBytes).toBe(total - 10_000)
    expect(result.stderr).toEqual({ text: '', droppedBytes: 0 })
  }, 60_000)

  it('stops at once and cleans up when aborted', async () => {
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 300)
    await expect(
      runner().run(runRequest(ws.dir, { command: ['sleep', '30'], signal: abort.signal })),
    ).rejects.toMatchObject({ name: 'RunnerError', code: 'aborted', runner: 'local' })
  })

  it('reports the folder the command ran in as workdir, for report paths', async () => {
    const result = await runner().run(runRequest(ws.dir, { command: ['sh', '-c', 'pwd -P'] }))
    expect(result.workdir).toMatch(/^\//)
    expect(result.stdout.text.trim()).toBe(result.workdir)
  })

  it('cannot change the checkout', async () => {
    const before = await readFile(join(ws.dir, 'README.md'), 'utf8')
    const result = await runner().run(
      runRequest(ws.dir, {
        command: ['sh', '-c', 'echo changed > README.md && rm -rf src .git; echo done'],
      }),
    )
    expect(result.stdout.text).toBe('done\n')
    expect(await readFile(join(ws.dir, 'README.md'), 'utf8')).toBe(before)
    expect((await readdir(join(ws.dir, 'src'))).length).toBeGreaterThan(0)
  })

  it('copies no .git and no link that points out of the workspace', async () => {
    await symlink('/etc/hostname', join(ws.dir, 'outside-link'))
    await symlink('README.md', join(ws.dir, 'inside-link'))
    try {
      const result = await runner().run(runRequest(ws.dir, { command: ['ls', '-A'] }))
      const names = result.stdout.text.trim().split('\n')
      expect(names).toContain('inside-link')
      expect(names).toContain('README.md')
      expect(names).not.toContain('outside-link')
      expect(names).not.toContain('.git')
    } finally {
      await rm(join(ws.dir, 'outside-link'))
      await rm(join(ws.dir, 'inside-link'))
    }
  })

  it('does not read a report that links out of the run, and reports a big one as too large', async () => {
    const linked = await runner().run(
      runRequest(ws.dir, {
        command: ['sh', '-c', 'mkdir -p build && ln -s /etc/passwd build/junit.xml'],
      }),
    )
    expect(linked.report).toEqual({ kind: 'missing' })
    const big = await runner().run(
      runRequest(ws.dir, {
        command: ['sh', '-c', 'mkdir -p build && head -c 5000 /dev/zero > build/junit.xml'],
        maxReportBytes: 4096,
      }),
    )
    expect(big.report).toEqual({ kind: 'too-large', bytes: 5000 })
  })

  it('reports a command that does not exist as exit 127 with the reason', async () => {
    const result = await runner().run(runRequest(ws.dir, { command: ['no-such-test-tool', '--x'] }))
    expect(result.exitCode).toBe(127)
    expect(result.stderr.text).toMatch(/no-such-test-tool: not found/)
  })

  it('refuses a report path outside the workspace before running anything', async () => {
    await expect(
      runner().run(runRequest(ws.dir, { junitPath: '../../etc/passwd', command: ['true'] })),
    ).rejects.toThrow(/relative to the repository/)
  })

  it('removes a run directory the test made unwritable (checked in afterEach)', async () => {
    const result = await runner().run(
      runRequest(ws.dir, {
        command: [
          'sh',
          '-c',
          'mkdir -p locked/deep && touch locked/deep/f && chmod 0 locked/deep locked',
        ],
      }),
    )
    expect(result.exitCode).toBe(0)
  })
})

describe('local runner without the sandbox (DEVSYS_UNSAFE_NO_SANDBOX=true on the server)', () => {
  const unconfined = () =>
    createLocalRunner({
      tmpDir: runs,
      killGraceMs: 300,
      sandbox: { ...DEFAULT_SANDBOX, enabled: false },
    })

  it('reports the folder the command ran in as workdir, for report paths', async () => {
    const result = await unconfined().run(runRequest(ws.dir, { command: ['sh', '-c', 'pwd -P'] }))
    expect(result.workdir).toMatch(/^\//)
    expect(result.stdout.text.trim()).toBe(result.workdir)
  })

  it('runs the command as a child of DevSys, on a copy, with a scrubbed environment', async () => {
    const result = await unconfined().run(
      runRequest(ws.dir, { command: ['sh', '-c', 'env; id -u'], env: { APP_ENV: 'test' } }),
    )
    expect(result.stdout.text).toContain(`HOME=${runs}/`)
    expect(result.stdout.text).toContain('APP_ENV=test')
    expect(result.stdout.text.trim().split('\n').at(-1)).toBe(String(process.getuid?.()))
  })

  it('reports a command that does not exist as exit 127 with the reason', async () => {
    const result = await unconfined().run(runRequest(ws.dir, { command: ['no-such-test-tool'] }))
    expect(result.exitCode).toBe(127)
    expect(result.stderr.text).toContain('cannot start "no-such-test-tool"')
  })
})
