import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleGit } from 'simple-git'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SANDBOX_PATH } from '../../runner/sandbox/bwrap.js'
import { DEFAULT_SANDBOX, type SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'
import { createGenerator } from '../../src/generate/create-generator.js'
import type { Manifest } from '../../src/manifest/types.js'
import { processesWith } from '../helpers/processes.js'
import { createWorkspace, loadManifest, requestFor, type TestWorkspace } from './workspace.js'

let ws: TestWorkspace
let scripts: string
let manifest: Manifest
beforeAll(async () => {
  scripts = await mkdtemp(join(tmpdir(), 'devsys-agents-'))
  // Readable by the sandbox user, as an agent installed for all users would be.
  await chmod(scripts, 0o755)
  manifest = await loadManifest('specs/create-blog.json')
})
afterAll(async () => {
  await rm(scripts, { recursive: true, force: true })
})
beforeEach(async () => {
  ws = await createWorkspace()
})
afterEach(async () => {
  await ws.cleanup()
})

/** Writes a small Node script that plays the coding agent; returns the generator's argv. */
async function agent(name: string, source: string): Promise<string[]> {
  const file = join(scripts, `${name}.mjs`)
  const header = "import fs from 'node:fs'\nimport cp from 'node:child_process'\n"
  await writeFile(file, header + source)
  return [process.execPath, file]
}

interface Options {
  timeoutSeconds?: number
  maxOutputBytes?: number
  feedback?: string
  signal?: AbortSignal
  sandbox?: Partial<SandboxSettings>
}

function generateWith(command: string[], opts: Options = {}) {
  const config = {
    kind: 'command' as const,
    command,
    maxIterations: 1,
    budgetSeconds: 3600,
    timeoutSeconds: opts.timeoutSeconds ?? 30,
    forbiddenPaths: ['.github/'],
  }
  const limits = opts.maxOutputBytes === undefined ? {} : { maxOutputBytes: opts.maxOutputBytes }
  // The agents are scripts in a folder of the test's: the server would list such a folder in
  // SANDBOX_READONLY_PATHS.
  const sandbox = { ...DEFAULT_SANDBOX, readOnlyPaths: [scripts], ...opts.sandbox }
  const generator = createGenerator('command', config, { killGraceMs: 300, ...limits, sandbox })
  const extra = {
    ...(opts.feedback === undefined ? {} : { feedback: opts.feedback }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  }
  return generator.generate(requestFor(ws.dir, manifest, extra))
}

async function status(): Promise<string> {
  return simpleGit({ baseDir: ws.dir }).raw(['status', '--porcelain=v1', '--untracked-files=all'])
}

describe('command generator', () => {
  it('runs the agent in the workspace; lists its files but not the prompt, which is removed', async () => {
    const argv = await agent(
      'writer',
      `fs.mkdirSync('src', { recursive: true })
fs.writeFileSync('src/app.php', '<?php echo 1;\\n')
fs.writeFileSync('prompt-seen.md', fs.readFileSync(process.env.DEVSYS_PROMPT_FILE))
fs.writeFileSync('cwd.txt', process.cwd() + '\\n' + process.env.DEVSYS_TASK_SPEC)
`,
    )
    const result = await generateWith(argv, { feedback: 'Use a darker theme.' })
    expect(result.files).toEqual([
      '.devsys/feedback.md',
      '.devsys/task.yml',
      'cwd.txt',
      'prompt-seen.md',
      'src/app.php',
    ])
    expect(result.summary).toBe(`Ran ${process.execPath}: 5 files changed.`)
    await expect(stat(join(ws.dir, '.devsys/prompt.md'))).rejects.toThrow(/ENOENT/)
    expect(await readFile(join(ws.dir, 'cwd.txt'), 'utf8')).toBe(
      `${ws.dir}\n${join(ws.dir, '.devsys/prompt.md')}`,
    )
    const prompt = await readFile(join(ws.dir, 'prompt-seen.md'), 'utf8')
    expect(prompt).toContain('# DevSys task: A small PHP blog (`create-blog`)')
    expect(prompt).toContain('> Use a darker theme.')
    expect(prompt).toContain('`phpunit --log-junit build/junit.xml`')
    expect(prompt).toContain(requestFor(ws.dir, manifest).spec.trimEnd())
    // The exclude line that hid the prompt from the agent's `git add` is gone again.
    const gitDir = join(ws.dir, '.git')
    expect(await readFile(join(gitDir, 'info/exclude'), 'utf8')).not.toContain('prompt.md')
  })

  it('gives the agent a read-only .git in the sandbox: it cannot commit or plant a hook', async () => {
    const head = (await simpleGit({ baseDir: ws.dir }).revparse(['HEAD'])).trim()
    const argv = await agent(
      'committer',
      `fs.writeFileSync('index.html', 'hi')
console.log(cp.execFileSync('git', ['status', '--porcelain']).toString())
try { fs.writeFileSync('.git/hooks/post-commit', '#!/bin/sh\\necho pwned') } catch (e) { console.log(e.code) }
try { cp.execFileSync('git', ['add', '-A'], { stdio: 'pipe' }) } catch (e) { console.log('add failed') }
process.exit(9)
`,
    )
    const error = await generateWith(argv).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'exit-code' })
    // git could read the repository (the sandbox user owned the work tree), nothing more.
    expect((error as Error).message).toContain('?? index.html')
    expect((error as Error).message).toContain('EROFS')
    expect((error as Error).message).toContain('add failed')
    await expect(stat(join(ws.dir, '.git/hooks/post-commit'))).rejects.toThrow(/ENOENT/)
    expect((await simpleGit({ baseDir: ws.dir }).revparse(['HEAD'])).trim()).toBe(head)
    // The work tree is DevSys's again: git on the host accepts it.
    expect((await stat(join(ws.dir, 'index.html'))).uid).toBe(process.getuid?.())
  })

  it("undoes the agent's own commits (keeping its changes) and never includes the prompt, when unconfined", async () => {
    const head = (await simpleGit({ baseDir: ws.dir }).revparse(['HEAD'])).trim()
    const argv = await agent(
      'committer',
      `fs.writeFileSync('index.html', 'hi')
cp.execFileSync('git', ['add', '-A'])
cp.execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 'agent'])
cp.execFileSync('git', ['add', '-f', '.devsys/prompt.md'])
cp.execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 'prompt'])
`,
    )
    const result = await generateWith(argv, { sandbox: { enabled: false } })
    expect(result.files).toEqual(['.devsys/task.yml', 'index.html'])
    expect((await simpleGit({ baseDir: ws.dir }).revparse(['HEAD'])).trim()).toBe(head)
    expect(await status()).not.toContain('prompt')
  })

  it('reports a non-zero exit with the tail of the output, secrets redacted', async () => {
    const argv = await agent(
      'failing',
      `console.log('working on it')
console.error('token ghp_' + 'a'.repeat(36) + ' rejected: cannot continue')
process.exit(3)
`,
    )
    const error = await generateWith(argv).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'GenerateError', code: 'exit-code' })
    const message = (error as Error).message
    expect(message).toContain('exited with code 3')
    expect(message).toContain('working on it')
    expect(message).toContain('[redacted token] rejected: cannot continue')
    expect(message).not.toContain('ghp_')
  })

  it('stops an agent that runs too long, with its whole process group', async () => {
    const marker = `devsys-grandchild-${process.pid}-${Date.now()}`
    const argv = await agent(
      'sleeper',
      `cp.spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)", ${JSON.stringify(marker)}], { stdio: 'ignore' })
console.log('thinking')
setInterval(() => {}, 1000)
`,
    )
    const started = Date.now()
    const error = await generateWith(argv, { timeoutSeconds: 1 }).catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(4000)
    expect(error).toMatchObject({ code: 'timeout' })
    expect((error as Error).message).toContain('did not finish within 1 s')
    expect((error as Error).message).toContain('thinking')
    // The grandchild ignored SIGTERM; it is gone all the same (no process has its marker).
    expect(processesWith(marker)).toEqual([])
    await expect(stat(join(ws.dir, '.devsys/prompt.md'))).rejects.toThrow(/ENOENT/)
  })

  it('stops the agent when the job is aborted', async () => {
    const argv = await agent('waiter', 'setInterval(() => {}, 1000)\n')
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('job cancelled')), 300)
    const started = Date.now()
    await expect(generateWith(argv, { signal: controller.signal })).rejects.toThrow('job cancelled')
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('caps the output it shows: 5 MB printed, the last 16 KiB shown in a code block', async () => {
    const argv = await agent(
      'chatty',
      `const line = 'x'.repeat(1023) + '\\n'
for (let i = 0; i < 5 * 1024; i++) process.stdout.write(line)
process.stdout.write('the end\\n', () => process.exit(1))
`,
    )
    const error = await generateWith(argv).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'exit-code' })
    const message = (error as Error).message
    expect(message).toContain(`(last 16384 of ${5 * 1024 * 1024 + 8} bytes):\n\n\`\`\`text\nxxx`)
    expect(message.endsWith('the end\n```')).toBe(true)
    // With the rest of a comment it stays under GitHub's 65,536 characters.
    expect(message.length).toBeLessThan(20 * 1024)
  })

  it('passes only PATH, LANG, PWD, a temporary HOME and TMPDIR, and DEVSYS_* variables', async () => {
    process.env.DEVSYS_TEST_SECRET = 'hunter2'
    process.env.GITHUB_TOKEN = `ghs_${'b'.repeat(36)}`
    try {
      const argv = await agent(
        'env',
        `fs.writeFileSync('env.json', JSON.stringify(process.env))
fs.writeFileSync(process.env.HOME + '/.agent-cache', 'x')
`,
      )
      await generateWith(argv)
    } finally {
      delete process.env.DEVSYS_TEST_SECRET
      delete process.env.GITHUB_TOKEN
    }
    const env = JSON.parse(await readFile(join(ws.dir, 'env.json'), 'utf8')) as Record<
      string,
      string
    >
    expect(Object.keys(env).sort()).toEqual([
      'DEVSYS_PROMPT_FILE',
      'DEVSYS_TASK_ID',
      'DEVSYS_TASK_SPEC',
      'DEVSYS_WORKSPACE',
      'HOME',
      'LANG',
      'PATH',
      'PWD',
      'TMPDIR',
    ])
    expect(env.PATH).toBe(SANDBOX_PATH)
    expect(env.DEVSYS_TASK_ID).toBe('create-blog')
    expect(env.HOME).not.toBe(homedir())
    // HOME is the sandbox's own /tmp, in memory: what the agent cached there is gone.
    expect(env.HOME).toBe('/tmp')
    await expect(stat('/tmp/.agent-cache')).rejects.toThrow(/ENOENT/)
  })

  it('cannot write next to the workspace in the sandbox', async () => {
    const argv = await agent('escaper', "fs.writeFileSync('../outside.txt', 'out')\n")
    await expect(generateWith(argv)).rejects.toMatchObject({
      code: 'exit-code',
      message: expect.stringContaining('EACCES'),
    })
    await expect(stat(join(ws.parent, 'outside.txt'))).rejects.toThrow(/ENOENT/)
  })

  it('refuses a file written next to the workspace when the server runs agents unconfined', async () => {
    const argv = await agent('escaper', "fs.writeFileSync('../outside.txt', 'out')\n")
    try {
      await expect(generateWith(argv, { sandbox: { enabled: false } })).rejects.toMatchObject({
        code: 'escape',
        message: expect.stringContaining('outside.txt'),
      })
    } finally {
      await rm(join(ws.parent, 'outside.txt'), { force: true })
    }
  })

  it.each([
    [
      'an absolute symlink',
      "fs.symlinkSync('/etc', 'link')\n",
      'symlink to the absolute path /etc',
    ],
    ['a symlink to the parent', "fs.symlinkSync('..', 'link')\n", 'outside the workspace'],
    [
      'a symlink hidden in a folder',
      "fs.mkdirSync('a/b', { recursive: true }); fs.symlinkSync('../../..', 'a/b/up')\n",
      'a/b/up',
    ],
  ])('refuses %s', async (_name, source, text) => {
    const argv = await agent('linker', source)
    await expect(generateWith(argv)).rejects.toMatchObject({
      code: 'escape',
      message: expect.stringContaining(text),
    })
  })

  it('refuses changes under a forbidden path', async () => {
    const argv = await agent(
      'workflow',
      "fs.mkdirSync('.github/workflows', { recursive: true }); fs.writeFileSync('.github/workflows/x.yml', 'on: push')\n",
    )
    await expect(generateWith(argv)).rejects.toMatchObject({
      code: 'forbidden-path',
      message: expect.stringContaining('.github/workflows/x.yml'),
    })
  })

  it('refuses changes to git configuration or hooks, when unconfined', async () => {
    const argv = await agent(
      'hooker',
      "fs.writeFileSync('.git/hooks/pre-commit', '#!/bin/sh\\ncurl evil'); fs.writeFileSync('ok.txt', 'x')\n",
    )
    await expect(generateWith(argv, { sandbox: { enabled: false } })).rejects.toMatchObject({
      code: 'escape',
      message: expect.stringContaining('.git/hooks/pre-commit'),
    })
  })

  it('refuses more output than the limit', async () => {
    const argv = await agent(
      'big',
      `fs.writeFileSync('a.bin', Buffer.alloc(2 * 1024 * 1024))
fs.writeFileSync('b.bin', Buffer.alloc(1024 * 1024))
`,
    )
    await expect(generateWith(argv, { maxOutputBytes: 2 * 1024 * 1024 })).rejects.toMatchObject({
      code: 'output-limit',
      message: expect.stringContaining('more than 2 MiB'),
    })
  })

  it('reports a command that cannot be started as a configuration problem', async () => {
    await expect(generateWith(['devsys-no-such-agent'])).rejects.toMatchObject({
      code: 'not-configured',
      message: expect.stringContaining('"devsys-no-such-agent" could not be started (ENOENT)'),
    })
    await expect(stat(join(ws.dir, '.devsys/prompt.md'))).rejects.toThrow(/ENOENT/)
  })

  it('is not configured without a command', () => {
    const config = {
      kind: 'command' as const,
      maxIterations: 1,
      budgetSeconds: 3600,
      timeoutSeconds: 10,
      forbiddenPaths: ['.github/'],
    }
    expect(() => createGenerator('command', config)).toThrow(
      expect.objectContaining({
        code: 'not-configured',
        message: expect.stringContaining('generator.command'),
      }),
    )
  })
})
