import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkArchitecture, formatReport, hasProblems } from '../scripts/check-architecture.js'

const roots: string[] = []

/** A source tree in a fresh temporary directory: path → file text. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'devsys-architecture-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

function lines(count: number): string {
  return Array.from({ length: count }, (_, i) => `export const line${i} = ${i}\n`).join('')
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

describe('check-architecture', () => {
  const broken = {
    'src/jobs/run.ts': "import { helper } from './helper.js'\nexport const run = helper\n",
    'src/jobs/helper.ts': "import { run } from './run.js'\nexport const helper = () => run\n",
    // A cycle through a type-only import and an `export … from` is a cycle too.
    'runner/a.ts': "export { b } from './b.js'\nexport const a = 1\n",
    'runner/b.ts': "import { c } from './nested/c.js'\nexport const b = c\n",
    'runner/nested/c.ts': "import type { a } from '../a.js'\nexport const c: typeof a = 1\n",
    'src/triggers/pick.ts':
      "import type { run } from '../jobs/run.js'\nexport type Run = typeof run\n",
    'src/report/say.ts':
      "import { readFileSync } from 'node:fs'\nexport const say = readFileSync\n",
    // A step serving jobs, and a lower layer, importing a job.
    'src/jobs/steps/step.ts': "import { run } from '../run.js'\nexport const step = run\n",
    'src/deploy/ship.ts': "import { run } from '../jobs/run.js'\nexport const ship = run\n",
    'src/long.ts': lines(401),
    'src/exactly.ts': lines(400),
    'src/grown.ts': lines(431),
    'src/shrunk.ts': lines(425),
  }
  const allowance = { 'src/grown.ts': 430, 'src/shrunk.ts': 430, 'src/gone.ts': 500 }

  it('reports every cycle, upward import, long file and stale allowance', () => {
    const report = checkArchitecture(tree(broken), { allowance })

    expect(report.cycles).toEqual([
      ['runner/a.ts', 'runner/b.ts', 'runner/nested/c.ts'],
      ['src/jobs/helper.ts', 'src/jobs/run.ts'],
    ])
    expect(report.upward.map(({ from, to }) => ({ from, to }))).toEqual([
      { from: 'src/deploy/ship.ts', to: 'src/jobs/run.ts' },
      // Two job files importing each other: a job is a recipe, never a library.
      { from: 'src/jobs/helper.ts', to: 'src/jobs/run.ts' },
      { from: 'src/jobs/run.ts', to: 'src/jobs/helper.ts' },
      { from: 'src/jobs/steps/step.ts', to: 'src/jobs/run.ts' },
      { from: 'src/triggers/pick.ts', to: 'src/jobs/run.ts' },
    ])
    expect(report.longFiles).toEqual([
      { file: 'src/grown.ts', lines: 431, limit: 430 },
      { file: 'src/long.ts', lines: 401, limit: 400 },
    ])
    expect(report.staleAllowances).toEqual(['src/gone.ts'])
    expect(hasProblems(report)).toBe(true)

    const message = formatReport(report)
    expect(message).toContain('runner/a.ts → runner/b.ts → runner/nested/c.ts → runner/a.ts')
    expect(message).toContain('src/jobs/helper.ts → src/jobs/run.ts → src/jobs/helper.ts')
    expect(message).toContain('src/triggers/pick.ts → src/jobs/run.ts')
    expect(message).toContain('src/long.ts: 401 lines (limit 400)')
    expect(message).toContain('src/grown.ts: 431 lines (limit 430)')
    expect(message).toMatch(/no longer needed[\s\S]*src\/gone\.ts/)
  })

  it('passes a tree with imports that only go down and short files', () => {
    const report = checkArchitecture(
      tree({
        'src/jobs/run.ts':
          "import { pick } from '../triggers/pick.js'\nimport { step } from './steps/step.js'\nexport const run = [pick, step]\n",
        'src/jobs/steps/step.ts': "import { other } from './other.js'\nexport const step = other\n",
        'src/jobs/steps/other.ts': 'export const other = 1\n',
        'src/triggers/pick.ts': "import { say } from '../report/say.js'\nexport const pick = say\n",
        'src/report/say.ts': "export const say = () => 'hi'\n",
        'runner/a.ts': "import { say } from '../src/report/say.js'\nexport const a = say\n",
        'src/exactly.ts': lines(400),
      }),
      { allowance: {} },
    )
    expect(report).toEqual({ cycles: [], upward: [], longFiles: [], staleAllowances: [] })
    expect(hasProblems(report)).toBe(false)
  })

  it('holds the repository to the same rules, with only the listed allowances', () => {
    const report = checkArchitecture(join(import.meta.dirname, '..'))
    expect(formatReport(report)).toBe('')
  })
})
