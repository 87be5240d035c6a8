import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildKillCommand, buildRunCommand, quote } from '../../runner/ssh/shell-quote.js'

const run = promisify(execFile)

const NASTY = [
  '',
  'plain',
  "it's",
  "''",
  '$(touch /tmp/pwned)',
  '`id`',
  '; rm -rf ~',
  '&& echo hi || true',
  '| cat > /tmp/x',
  '*',
  '~',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, meant literally
  '$HOME ${PATH} $1 $@',
  '"double" \\"escaped\\"',
  'back\\slash\\',
  'new\nline',
  'tab\there',
  '#comment',
  '!history',
  'ü 日本',
]

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devsys-quote-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('quote', () => {
  for (const shell of ['sh', 'bash']) {
    it(`makes ${shell} pass every value through unchanged`, async () => {
      const line = `printf '<%s>' ${NASTY.map(quote).join(' ')}`
      const { stdout } = await run(shell, ['-c', line], { cwd: dir })
      expect(stdout).toBe(NASTY.map((value) => `<${value}>`).join(''))
      await expect(readFile('/tmp/pwned')).rejects.toMatchObject({ code: 'ENOENT' })
    })
  }

  it('refuses a NUL byte, which no argument can hold', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/)
  })
})

describe('buildRunCommand, run by a real shell', () => {
  const paths = () => ({ pidFile: join(dir, 'pid'), workDir: dir })

  it('runs the argv literally in the work folder with only the given environment', async () => {
    const line = buildRunCommand(
      ['sh', '-c', 'pwd; env | sort; printf "<%s>" "$@"', 'sh', ...NASTY],
      paths(),
      {
        HOME: '/home/x',
        LANG: 'C.UTF-8',
      },
    )
    const { stdout } = await run('sh', ['-c', line], {
      env: { PATH: process.env.PATH ?? '', SECRET_TOKEN: 'x' },
    })
    const [pwd, ...rest] = stdout.split('\n')
    expect(pwd).toBe(dir)
    const names = rest.filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=')[0])
    expect(names).toEqual(['HOME', 'LANG', 'PATH', 'PWD'])
    expect(stdout).toContain(NASTY.map((value) => `<${value}>`).join(''))
    // The pid file names the process group the runner kills.
    expect(Number(await readFile(join(dir, 'pid'), 'utf8'))).toBeGreaterThan(0)
  })

  it('takes a first argument that looks like an assignment as the program name', async () => {
    const line = buildRunCommand(['A=B', 'x'], paths(), {})
    const failed = await run('sh', ['-c', line]).catch(
      (error: { code: number; stderr: string }) => error,
    )
    expect(failed).toMatchObject({ code: 127, stderr: expect.stringContaining('A=B') })
  })

  it('refuses environment names a shell would not take as assignments', () => {
    expect(() => buildRunCommand(['true'], paths(), { 'A B': '1' })).toThrow(/invalid environment/)
    expect(() => buildRunCommand(['true'], paths(), { '$(x)': '1' })).toThrow(/invalid environment/)
    expect(() => buildRunCommand([], paths(), {})).toThrow(/empty/)
  })

  it('kill command: quiet and successful when there is no pid file', async () => {
    const { stdout, stderr } = await run('sh', ['-c', buildKillCommand(join(dir, 'none'), 'KILL')])
    expect(stdout + stderr).toBe('')
  })
})
