/**
 * Architecture check, run by `npm run check`: fails on an import cycle, on an upward import (a
 * layer below the jobs importing a job, or a job importing another job) and on a source file over
 * the line limit.
 *
 * Imports are read and resolved with the TypeScript compiler's own module resolution, so what
 * counts as an import here is what `tsc` sees: static imports, `export … from`, `import type`
 * and dynamic `import()`. Type-only imports count too: a cycle through types is still a cycle
 * in the design, and payload types are exactly what the layers must not pull up from jobs.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/** The folders scanned, relative to the root. */
export const SCANNED_DIRS = ['src', 'runner'] as const

/**
 * A file in `from` may not import anything in `to` (paths relative to the root, `/`-separated).
 * A path ending in `/*` means the files directly in that folder, not in its subfolders.
 */
export interface LayerRule {
  from: string
  to: string
  why: string
}

/** The layers under the jobs: they serve jobs, so none of them may import one. */
const BELOW_JOBS = [
  'src/queue/',
  'src/store/',
  'src/deploy/',
  'src/generate/',
  'src/git/',
  'src/github/',
  'src/manifest/',
  'src/verify/',
  'src/monitor/',
  'src/testing/',
  'src/config/',
  'src/metrics/',
  'src/notify/',
  'runner/',
]

export const LAYER_RULES: readonly LayerRule[] = [
  { from: 'src/triggers/', to: 'src/jobs/', why: 'triggers are pure and run before any job' },
  { from: 'src/report/', to: 'src/jobs/', why: 'report writes to GitHub for jobs, not from them' },
  {
    from: 'src/intake/',
    to: 'src/jobs/',
    why: 'jobs call intake, so intake importing a job is a cycle',
  },
  ...BELOW_JOBS.map((from) => ({
    from,
    to: 'src/jobs/',
    why: 'jobs are built on this layer, not the other way round',
  })),
  {
    from: 'src/jobs/*',
    to: 'src/jobs/*',
    why: 'a job file is a recipe, not a library: what jobs share lives in src/jobs/steps/ or below',
  },
  { from: 'src/jobs/steps/', to: 'src/jobs/*', why: 'a step serves jobs; it never imports one' },
]

/** Whether `file` is in the rule path `path` (`dir/` anywhere below, `dir/*` directly in it). */
export function inPath(file: string, path: string): boolean {
  if (!path.endsWith('/*')) return file.startsWith(path)
  const dir = path.slice(0, -1)
  return file.startsWith(dir) && !file.slice(dir.length).includes('/')
}

export const MAX_LINES = 400

/**
 * Files allowed over MAX_LINES, each with a ceiling it may not grow past. Empty since the deploy
 * job and the JUnit parser were split; an entry is for a file being split, never a new file.
 */
export const LINE_ALLOWANCE: Readonly<Record<string, number>> = {}

export interface UpwardImport {
  from: string
  to: string
  rule: LayerRule
}

export interface LongFile {
  file: string
  lines: number
  limit: number
}

export interface ArchitectureReport {
  /** Each cycle as a chain of files whose last file imports the first. */
  cycles: string[][]
  upward: UpwardImport[]
  longFiles: LongFile[]
  /** Allowance entries for files that no longer exist or are back under MAX_LINES. */
  staleAllowances: string[]
}

export interface CheckOptions {
  rules?: readonly LayerRule[]
  maxLines?: number
  allowance?: Readonly<Record<string, number>>
}

const SOURCE_FILE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/

/** Reads every source file under `root`'s scanned folders and reports what breaks the rules. */
export function checkArchitecture(root: string, options: CheckOptions = {}): ArchitectureReport {
  const rules = options.rules ?? LAYER_RULES
  const maxLines = options.maxLines ?? MAX_LINES
  const allowance = options.allowance ?? LINE_ALLOWANCE
  const absRoot = resolve(root)
  const files = SCANNED_DIRS.flatMap((dir) => listSources(join(absRoot, dir))).sort()
  const name = (abs: string) => relative(absRoot, abs).split(sep).join('/')
  const known = new Set(files)
  const compilerOptions = readCompilerOptions(absRoot)

  const graph = new Map<string, string[]>()
  const longFiles: LongFile[] = []
  const upward: UpwardImport[] = []
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const from = name(file)
    const lines = countLines(text)
    const limit = Math.max(maxLines, allowance[from] ?? 0)
    if (lines > limit) longFiles.push({ file: from, lines, limit })

    const targets = new Set<string>()
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      const resolved = ts.resolveModuleName(ref.fileName, file, compilerOptions, ts.sys)
        .resolvedModule?.resolvedFileName
      if (resolved !== undefined && known.has(resolve(resolved)))
        targets.add(name(resolve(resolved)))
    }
    graph.set(from, [...targets].sort())
    for (const to of targets) {
      for (const rule of rules) {
        if (from !== to && inPath(from, rule.from) && inPath(to, rule.to))
          upward.push({ from, to, rule })
      }
    }
  }

  const staleAllowances = Object.entries(allowance)
    .filter(([file]) => {
      const abs = join(absRoot, file)
      return !known.has(abs) || countLines(readFileSync(abs, 'utf8')) <= maxLines
    })
    .map(([file]) => file)

  return { cycles: findCycles(graph), upward, longFiles, staleAllowances }
}

/** Whether the report has anything that should fail the check. */
export function hasProblems(report: ArchitectureReport): boolean {
  return (
    report.cycles.length > 0 ||
    report.upward.length > 0 ||
    report.longFiles.length > 0 ||
    report.staleAllowances.length > 0
  )
}

/** A message listing every problem and what to do about each kind. */
export function formatReport(report: ArchitectureReport): string {
  const out: string[] = []
  if (report.cycles.length > 0) {
    out.push(`Import cycles (${report.cycles.length}); break each by moving what both sides need`)
    out.push('into a module that imports neither:')
    for (const cycle of report.cycles) out.push(`  ${[...cycle, cycle[0]].join(' → ')}`)
  }
  if (report.upward.length > 0) {
    out.push(`Forbidden imports (${report.upward.length}); move what is imported into a module the`)
    out.push('importing file may use (payload types and job keys: src/triggers/job-payloads.ts;')
    out.push(
      'what two jobs share: src/jobs/steps/ or a lower layer; dependency types: src/app-deps.ts):',
    )
    for (const u of report.upward) out.push(`  ${u.from} → ${u.to} (${u.rule.why})`)
  }
  if (report.longFiles.length > 0) {
    out.push(`Files over their line limit (${report.longFiles.length}); split them:`)
    for (const f of report.longFiles) out.push(`  ${f.file}: ${f.lines} lines (limit ${f.limit})`)
  }
  if (report.staleAllowances.length > 0) {
    out.push('Line allowances no longer needed; remove them from LINE_ALLOWANCE in')
    out.push('scripts/check-architecture.ts:')
    for (const f of report.staleAllowances) out.push(`  ${f}`)
  }
  return out.join('\n')
}

function listSources(dir: string): string[] {
  let entries: import('node:fs').Dirent[]
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return []
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : listSources(path)
    return entry.isFile() && SOURCE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts')
      ? [path]
      : []
  })
}

function countLines(text: string): number {
  if (text === '') return 0
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
}

function readCompilerOptions(root: string): ts.CompilerOptions {
  const fallback: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    resolveJsonModule: true,
    allowJs: true,
  }
  const path = join(root, 'tsconfig.json')
  if (!ts.sys.fileExists(path)) return fallback
  const { config, error } = ts.readConfigFile(path, ts.sys.readFile)
  if (error !== undefined) {
    throw new Error(`${path}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`)
  }
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root)
  return { ...parsed.options, allowJs: true }
}

/**
 * Tarjan's strongly connected components, then, inside each component, the shortest cycle
 * through each file not yet on a reported cycle: every file on a cycle appears in at least one
 * listed chain, without enumerating the (possibly exponential) set of all cycles.
 */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = []
  for (const component of stronglyConnected(graph)) {
    const members = new Set(component)
    const single = component[0]
    if (component.length === 1 && single !== undefined) {
      if (graph.get(single)?.includes(single)) cycles.push([single])
      continue
    }
    const covered = new Set<string>()
    for (const start of [...component].sort()) {
      if (covered.has(start)) continue
      const cycle = shortestCycle(graph, members, start)
      for (const file of cycle) covered.add(file)
      cycles.push(cycle)
    }
  }
  return cycles.sort((a, b) => a.join('\n').localeCompare(b.join('\n')))
}

function shortestCycle(
  graph: ReadonlyMap<string, readonly string[]>,
  members: ReadonlySet<string>,
  start: string,
): string[] {
  const parent = new Map<string, string>()
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i] as string
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue
      if (next === start) {
        const chain = [node]
        while (chain[0] !== start) chain.unshift(parent.get(chain[0] as string) as string)
        return chain
      }
      if (!parent.has(next)) {
        parent.set(next, node)
        queue.push(next)
      }
    }
  }
  return [start]
}

function stronglyConnected(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (node: string): void => {
    index.set(node, counter)
    low.set(node, counter)
    counter++
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string | undefined
      do {
        member = stack.pop() as string
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      components.push(component)
    }
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return components
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(fileURLToPath(import.meta.url), '../..')
  const report = checkArchitecture(root)
  if (hasProblems(report)) {
    process.stderr.write(`check-architecture: failed\n${formatReport(report)}\n`)
    process.exitCode = 1
  } else {
    process.stdout.write('check-architecture: no import cycles, no upward imports, no long files\n')
  }
}
