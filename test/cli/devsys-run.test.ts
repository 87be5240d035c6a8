import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'

const run = promisify(execFile)
let root: string
let repo: string

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'devsys-cli-'))
  repo = join(root, 'my-blog')
  mkdirSync(repo)
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'config', 'user.name', 'Mona Lisa')
  git(repo, 'config', 'user.email', 'mona@example.com')
  writeFileSync(join(repo, 'README.md'), '# my blog\n')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'start')
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function devsys(...args: string[]) {
  return run('npx', ['tsx', 'src/cli/devsys.ts', ...args], {
    env: { ...process.env, DATA_DIR: join(root, 'data') },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  )
}

describe('devsys run (local mode)', () => {
  it('validates the manifest and commits the generated code on devsys/<id>, leaving the work tree alone', async () => {
    writeFileSync(join(repo, 'notes.txt'), 'uncommitted work\n')
    const result = await devsys('run', 'specs/create-blog.json', '--repo', repo)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("manifest 'create-blog' is valid")
    expect(result.stdout).toMatch(/committed [0-9a-f]{12} on devsys\/create-blog \(from main\)/)
    const files = git(repo, 'ls-tree', '-r', '--name-only', 'devsys/create-blog').split('\n')
    expect(files).toEqual(expect.arrayContaining(['README.md', 'public/index.php', 'phpunit.xml']))
    expect(result.stdout).toContain('public/index.php')
    expect(
      git(
        repo,
        'log',
        '-1',
        '--format=%an|%(trailers:key=Co-authored-by,valueonly)',
        'devsys/create-blog',
      ),
    ).toBe('DevSys|Mona Lisa <mona@example.com>')
    // The user's checkout is untouched: same branch, uncommitted file still there.
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main')
    expect(git(repo, 'status', '--porcelain')).toBe('?? notes.txt')

    const again = await devsys('run', 'specs/create-blog.json', '--repo', repo)
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('nothing to change')
  })

  it('prints every problem of an invalid manifest with file:line:column and commits nothing', async () => {
    const bad = join(root, 'bad.json')
    writeFileSync(bad, '{\n  "id": "Bad Id",\n  "title": "x",\n  "stack": "cobol"\n}\n')
    const result = await devsys('run', bad, '--repo', repo)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`${bad}:2:9 /id:`)
    expect(result.stdout).toContain(`${bad}:4:12 /stack:`)
    expect(result.stdout).toContain('how to fix: use one of: php, static')
    expect(git(repo, 'branch', '--list', 'devsys/*')).toBe('')
  })

  it('explains a path that is not a git repository', async () => {
    const result = await devsys('run', 'specs/create-blog.json', '--repo', join(root, 'nowhere'))
    expect(result.code).toBe(2)
    expect(result.stdout).toContain('is not a git repository')
  })
})

describe('devsys run --test', () => {
  it.skipIf(!requireTool('phpunit', 'the generated blog is tested with PHPUnit'))(
    'generates, then runs the blog’s PHPUnit suite with the local runner and prints the report',
    async () => {
      const result = await devsys(
        'run',
        'specs/create-blog.json',
        '--repo',
        repo,
        '--test',
        '--runner',
        'local',
      )
      expect(result.stdout).toContain('with the local runner')
      expect(result.stdout).toMatch(/✓ tests: \d+ passed, 0 failed, 0 errored/)
      expect(result.code).toBe(0)
    },
  )
})

describe('devsys run --deploy', () => {
  it.skipIf(!requireTool('php', 'the deployed blog is served with php -S'))(
    'deploys the generated blog, verifies it, and ends with a URL that answers until Ctrl-C',
    async () => {
      // node itself (not npx) so that SIGTERM reaches DevSys, as Ctrl-C would.
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/devsys.ts',
          'run',
          'specs/create-blog.json',
          '--repo',
          repo,
          '--deploy',
        ],
        {
          env: { ...process.env, DATA_DIR: join(root, 'data') },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stdout = ''
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString()
          const match = /→ live at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
          if (match?.[1] && stdout.includes('serving until Ctrl-C')) resolve(match[1])
        })
        void exited.then(() => reject(new Error(`devsys exited early:\n${stdout}`)))
      })
      expect(stdout).toMatch(
        /✓ deployed release [0-9a-f]{12} to .*deploys\/local\/my-blog\/production/,
      )
      expect(stdout).toContain('✓ acceptance: 3 of 3 checks passed')
      const home = await httpRequest(url)
      expect(home.status).toBe(200)
      expect(home.text).toContain('Hello, world')
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      await expect(httpRequest(url)).rejects.toThrow(/ECONNREFUSED/)
    },
  )
})
