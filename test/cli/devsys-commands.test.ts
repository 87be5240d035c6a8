import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { freePort } from '../helpers/services.js'

const run = promisify(execFile)
/** Each command is a Node process compiling TypeScript at start: seconds on a busy machine. */
const SLOW = 90_000
const PROJECT = resolve(import.meta.dirname, '../..')
/** The `bin` entry of package.json: what `npx devsys` runs. */
const BIN = join(PROJECT, 'bin/devsys.mjs')
const BLOG = join(PROJECT, 'specs/create-blog.json')
const SETTINGS = Object.keys(
  (
    JSON.parse(readFileSync(join(PROJECT, 'specs/env.schema.json'), 'utf8')) as {
      properties: object
    }
  ).properties,
)

let root: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'devsys-commands-'))
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

/** This process's environment without any DevSys setting, so every default applies. */
function freshEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const name of SETTINGS) delete env[name]
  return { ...env, ...extra }
}

type Result = { code: number; stdout: string; stderr: string }

function exec(file: string, args: string[], cwd: string, env = freshEnv()): Promise<Result> {
  return run(file, args, { cwd, env }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: Result) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  )
}

describe('npx devsys validate', () => {
  it(
    'prints every problem of every manifest as file:line:column and exits 1',
    async () => {
      const bad = join(root, 'bad.yml')
      writeFileSync(bad, 'id: Bad Id\ntitle: x\nstack: cobol\n')
      const result = await exec(
        'npx',
        ['devsys', 'validate', bad, 'specs/create-blog.json'],
        PROJECT,
      )
      expect(result.code).toBe(1)
      const lines = result.stdout.split('\n')
      expect(lines).toContain(`✗ ${bad} has 4 problems:`)
      expect(lines.filter((l) => l.startsWith(`  ${bad}:`))).toEqual([
        `  ${bad}:1:1 /acceptance: the top level is missing the required property 'acceptance'`,
        `  ${bad}:1:1 /stories: the top level is missing the required property 'stories'`,
        `  ${bad}:1:5 /id: 'id' is "Bad Id", which is not allowed`,
        `  ${bad}:3:8 /stack: 'stack' is "cobol", which is not allowed`,
      ])
      expect(lines).toContain('      how to fix: use one of: php, static')
      // The valid one after it is still checked and reported.
      expect(lines).toContain(
        "✓ specs/create-blog.json: manifest 'create-blog' is valid (php stack)",
      )
    },
    SLOW,
  )

  it(
    'exits 0 when every manifest is valid, and 2 for a file it cannot read',
    async () => {
      const valid = await exec(BIN, ['validate', BLOG], root)
      expect(valid).toMatchObject({ code: 0 })
      expect(valid.stdout).toContain("manifest 'create-blog' is valid")
      // A Spec Kit spec is named as one, with the checks its scenarios became.
      const spec = fileURLToPath(new URL('../fixtures/specs/001-blog/spec.md', import.meta.url))
      const checked = await exec(BIN, ['validate', spec], root)
      expect(checked).toMatchObject({ code: 0 })
      expect(checked.stdout).toContain("spec '001-blog' is valid (php stack, 3 acceptance checks)")
      const missing = await exec(BIN, ['validate', join(root, 'nope.json')], root)
      expect(missing.code).toBe(2)
      expect(missing.stdout).toContain('nope.json cannot be read (ENOENT)')
      const usage = await exec(BIN, ['validate'], root)
      expect(usage.code).toBe(2)
      expect(usage.stderr).toContain('validate <manifest>...')
    },
    SLOW,
  )
})

describe('devsys run from another folder, with the default DATA_DIR', () => {
  it(
    'keeps its git mirrors in ./.data of the working directory and commits the branch',
    async () => {
      const repo = join(root, 'my-blog')
      mkdirSync(repo)
      git(repo, 'init', '-q', '-b', 'main')
      git(repo, 'config', 'user.name', 'Mona Lisa')
      git(repo, 'config', 'user.email', 'mona@example.com')
      writeFileSync(join(repo, 'README.md'), '# my blog\n')
      git(repo, 'add', '-A')
      git(repo, 'commit', '-q', '-m', 'start')

      // A relative --repo and no DATA_DIR: the README's own command, run where the user stands.
      const result = await exec(BIN, ['run', BLOG, '--repo', 'my-blog'], root)
      expect(result.stdout).not.toContain('does not exist')
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/committed [0-9a-f]{12} on devsys\/create-blog/)
      expect(git(repo, 'ls-tree', '-r', '--name-only', 'devsys/create-blog')).toContain(
        'public/index.php',
      )
      expect(existsSync(join(root, '.data/git'))).toBe(true)
    },
    SLOW,
  )
})

describe('devsys start', () => {
  let child: ChildProcess | undefined
  afterEach(() => {
    if (child?.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    child = undefined
  })

  /** Starts `cmd` in its own process group; resolves with its output once /api/health answers. */
  async function startServer(cmd: string, args: string[], port: number) {
    const proc = spawn(cmd, args, {
      cwd: root,
      env: freshEnv({ HOST: '127.0.0.1', PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    child = proc
    let output = ''
    proc.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    proc.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    const exited = new Promise<number | null>((done) => proc.on('exit', done))
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`devsys start exited early:\n${output}`)
      const health = await httpRequest(`http://127.0.0.1:${port}/api/health`).catch(() => null)
      if (health?.status === 200) return { output: () => output, exited, proc }
      await new Promise((done) => setTimeout(done, 200))
    }
    throw new Error(`devsys start did not answer within 30 s:\n${output}`)
  }

  it(
    'runs the server with its data in ./.data, logs JSON lines when not on a terminal, and stops on SIGTERM',
    async () => {
      const port = await freePort()
      const server = await startServer(process.execPath, [BIN, 'start'], port)
      expect(existsSync(join(root, '.data/devsys.sqlite'))).toBe(true)
      const lines = server.output().trim().split('\n')
      expect(lines.length).toBeGreaterThan(0)
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow()
      expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain(
        `Listening on http://127.0.0.1:${port}`,
      )
      server.proc.kill('SIGTERM')
      expect(await server.exited).toBe(0)
    },
    SLOW,
  )

  it.skipIf(!requireTool('script', 'runs DevSys on a pseudo-terminal (util-linux)'))(
    'writes human-readable log lines on a terminal',
    async () => {
      const port = await freePort()
      // script(1) gives the server a pseudo-terminal as stdout, as a person's shell would.
      const command = [process.execPath, BIN, 'start'].map((a) => `'${a}'`).join(' ')
      const server = await startServer('script', ['-qec', command, '/dev/null'], port)
      await expect.poll(() => server.output(), { timeout: 5000 }).toContain('Listening on')
      const output = server.output()
      expect(output).toMatch(/INFO.*\(devsys\).*Listening on http:\/\/127\.0\.0\.1:\d+/)
      expect(output).not.toContain('{"level":')
    },
    SLOW,
  )
})
