import { lstat, readdir, readFile, rm, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import type { Runner, RunnerKind } from '../../runner/types.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { processesWith } from '../helpers/processes.js'
import { createBlogWorkspace, runRequest, testCount } from '../runner/blog-workspace.js'
import { type KnownDivergences, scenarios } from './scenario.js'

/** One implementation of the `Runner` port, as the contract suite drives it. */
export interface RunnerUnderTest {
  kind: RunnerKind
  /** Starts what the runner needs (a server, a temp folder); runs once, before every scenario. */
  setUp?(): Promise<void>
  tearDown?(): Promise<void>
  /** A runner ready to use (called after setUp, once per scenario). */
  runner(): Runner
  /** Checks that the last run left nothing behind (its directory, its container). */
  leftNothingBehind(): Promise<void>
  /** Whether the blog's PHPUnit suite can run where this runner runs commands. */
  hasPhpUnit: boolean
  /** Exactly the variable names the command sees, when the runner fixes them all. */
  envNames?: string[]
  /** What HOME is in the command's environment, when the runner sets it. */
  home?: RegExp
  /** Whether a pid the command prints is a pid of this machine (not of a namespace of its own). */
  hostPids: boolean
  /** The run's time limit in the time-limit scenario, and how soon after it must return. */
  timeLimit: { timeoutMs: number; returnsWithinMs: number }
  /** How long after its start a run is aborted in the abort scenario. */
  abortAfterMs: number
  /** How much output the command writes in the output-cap scenario, and the test's time. */
  bigOutput: { bytes: number; testTimeoutMs: number }
  /** What stderr says about a command that does not exist, beyond naming it. */
  missingCommand?: RegExp
  /** Scenarios (by name) this implementation is known to fail, each with why. */
  knownDivergences?: KnownDivergences
}

/**
 * The scenarios every `Runner` must pass, defined once and run against each implementation
 * (test/contracts/runner-<kind>.test.ts). Call inside a `describe` that skips or fails as the
 * implementation's services require.
 */
export function runnerContract(impl: RunnerUnderTest): void {
  let ws: TestWorkspace
  beforeAll(async () => {
    await impl.setUp?.()
    ws = await createBlogWorkspace()
  }, 120_000)
  afterAll(async () => {
    await ws?.cleanup()
    await impl.tearDown?.()
  })
  afterEach(async () => {
    // Every run removes what it made, whatever happened.
    await impl.leftNothingBehind()
  })
  const runner = () => impl.runner()
  const { scenario, done } = scenarios(impl.knownDivergences)

  scenario(
    "runs the generated blog's PHPUnit suite on a copy and brings its JUnit report back",
    async () => {
      const result = await runner().run(runRequest(ws.dir))
      expect(result).toMatchObject({ runner: impl.kind, exitCode: 0, timedOut: false })
      expect(result.stdout.text).toMatch(/OK \(\d+ tests/)
      expect(result.report.kind).toBe('found')
      if (result.report.kind === 'found') expect(testCount(result.report.xml)).toBeGreaterThan(0)
      // The report was written into the copy, not into the checkout.
      await expect(lstat(join(ws.dir, 'build'))).rejects.toMatchObject({ code: 'ENOENT' })
    },
    { skip: !impl.hasPhpUnit },
  )

  scenario('reports the folder the command ran in as workdir, for report paths', async () => {
    const result = await runner().run(runRequest(ws.dir, { command: ['sh', '-c', 'pwd -P'] }))
    expect(result.workdir).toMatch(/^\//)
    expect(result.stdout.text.trim()).toBe(result.workdir)
  })

  scenario(
    "gives the command none of DevSys's environment, only its own and the request's env",
    async () => {
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
        const lines = result.stdout.text.trim().split('\n')
        expect(lines).toContain('APP_ENV=test')
        expect(result.stdout.text).not.toMatch(/secret|SECRET|ghs_|gho_|PRIVATE|GITHUB|TOKEN/)
        if (impl.envNames !== undefined) {
          const names = lines.map((line) => line.split('=')[0])
          expect(names.sort()).toEqual([...impl.envNames].sort())
        }
        if (impl.home !== undefined) {
          const home = lines.find((line) => line.startsWith('HOME='))?.slice('HOME='.length)
          expect(home).toMatch(impl.home)
        }
      } finally {
        process.env = saved
      }
    },
  )

  scenario(
    'passes every argument literally: $(…), ;, quotes and globs reach the program unchanged',
    async () => {
      const argv = [
        '$(touch /tmp/pwned)',
        '$(touch pwned)',
        '; touch pwned',
        '; rm -rf /work',
        "it's",
        '`touch pwned`',
        '`id`',
        '*',
        'a\nb',
        '"$HOME"',
        '\\',
        '',
      ]
      const result = await runner().run(
        runRequest(ws.dir, {
          // Prints each argument, then the name of any file a substitution would have made.
          command: [
            'sh',
            '-c',
            'printf "<%s>" "$@"; ls -d pwned /tmp/pwned 2>/dev/null',
            'sh',
            ...argv,
          ],
        }),
      )
      expect(result.stdout.text).toBe(argv.map((a) => `<${a}>`).join(''))
    },
  )

  scenario(
    'kills the whole process group at the time limit, also what ignores SIGTERM',
    async () => {
      const started = Date.now()
      // A sleep with an argument no other process has, to find it on the host afterwards.
      const marker = `1000.${process.pid}${Date.now() % 100_000}`
      const result = await runner().run(
        runRequest(ws.dir, {
          command: [
            'sh',
            '-c',
            `sleep ${marker} & echo $!; trap "" TERM; while :; do sleep 1; done`,
          ],
          timeoutMs: impl.timeLimit.timeoutMs,
        }),
      )
      expect(result).toMatchObject({ timedOut: true, exitCode: null, report: { kind: 'missing' } })
      expect(Date.now() - started).toBeLessThan(impl.timeLimit.returnsWithinMs)
      const background = Number(result.stdout.text.trim())
      expect(background).toBeGreaterThan(0)
      expect(processesWith(marker)).toEqual([])
      if (impl.hostPids) expect(() => process.kill(background, 0)).toThrow(/ESRCH/)
    },
  )

  scenario(
    'keeps only the tail of a huge output and counts the rest',
    async () => {
      const total = impl.bigOutput.bytes
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
    },
    { timeout: impl.bigOutput.testTimeoutMs },
  )

  scenario('stops at once and cleans up when aborted', async () => {
    const abort = new AbortController()
    setTimeout(() => abort.abort(), impl.abortAfterMs)
    await expect(
      runner().run(runRequest(ws.dir, { command: ['sleep', '600'], signal: abort.signal })),
    ).rejects.toMatchObject({ name: 'RunnerError', code: 'aborted', runner: impl.kind })
  })

  scenario('cannot change the checkout', async () => {
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

  scenario('copies no .git and no link that points out of the workspace', async () => {
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

  scenario(
    'reports a command that exits before writing the report as a missing report',
    async () => {
      const result = await runner().run(
        runRequest(ws.dir, { command: ['sh', '-c', 'echo failing >&2; exit 3'] }),
      )
      expect(result).toMatchObject({ exitCode: 3, timedOut: false, report: { kind: 'missing' } })
      expect(result.stderr.text).toBe('failing\n')
    },
  )

  scenario(
    'does not read a report that links out of the run, and reports a big one as too large',
    async () => {
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
    },
  )

  scenario('reports a command that does not exist as exit 127, naming it', async () => {
    const result = await runner().run(runRequest(ws.dir, { command: ['no-such-test-tool', '--x'] }))
    expect(result.exitCode).toBe(127)
    expect(result.stderr.text).toContain('no-such-test-tool')
    if (impl.missingCommand !== undefined) expect(result.stderr.text).toMatch(impl.missingCommand)
  })

  scenario('refuses a report path outside the workspace before running anything', async () => {
    await expect(
      runner().run(runRequest(ws.dir, { junitPath: '../../etc/passwd', command: ['true'] })),
    ).rejects.toThrow(/relative to the repository/)
  })

  scenario(
    'removes a run directory the test made unwritable (checked after each scenario)',
    async () => {
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
    },
  )
  done()
}
