/**
 * Generate benchmark: the time from a queued task to a pushed branch for specs/create-blog.json,
 * phase by phase, through DevSys's real code and, in the same run against the same remote,
 * through plain git.
 *
 *   npx tsx bench/generate/run.ts [--files=500] [--commits=4] [--runs=10]
 *   (or BENCH_FILES, BENCH_COMMITS, BENCH_RUNS)
 *
 * The remote is a local bare repository reached over file://, seeded with `files` files in
 * `commits` commits; everything lives in one temporary folder, removed at the end. The run exits
 * non-zero unless every branch it pushed is on the remote with the generated files.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Logger, pino } from 'pino'
import { parseRepoConfig } from '../../src/config/load-repo-config.js'
import { createGenerator } from '../../src/generate/create-generator.js'
import type { Generator } from '../../src/generate/types.js'
import { createGitWorkspaces } from '../../src/git/create-git-workspaces.js'
import { buildTaskSpec } from '../../src/manifest/build-task-spec.js'
import { parseManifest } from '../../src/manifest/parse-manifest.js'
import type { Manifest } from '../../src/manifest/types.js'
import { type DevsysDeps, measureQuietCommandCost, runDevsys } from './devsys-run.js'
import { type BaselinePhases, git, runBaseline } from './plain-git.js'
import { createQueuedRunner, type QueuedResult } from './queued-run.js'
import { summarize } from '../lib/summarize.js'
import { renderReport } from './report.js'
import { seedBareRepo } from './seed-repo.js'
import { verifyBranches } from './verify-branches.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const MANIFEST = path.join(HERE, '../../specs/create-blog.json')
const MESSAGE = 'Generate create-blog'

function option(name: string, fallback: number, min: number, max: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  const raw = arg?.slice(name.length + 3) ?? process.env[`BENCH_${name.toUpperCase()}`]
  const value = raw === undefined ? fallback : Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be an integer between ${min} and ${max}, got ${raw}`)
  }
  return value
}

function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

async function loadManifest(): Promise<{ manifest: Manifest; spec: string }> {
  const parsed = parseManifest(await readFile(MANIFEST, 'utf8'), {
    label: MANIFEST,
    path: 'specs/create-blog.json',
  })
  if (!parsed.ok) throw new Error(`${MANIFEST} is not a valid manifest; run npm run devsys first`)
  const spec = buildTaskSpec(parsed.manifest, {
    kind: 'api',
    repo: 'bench/blog',
    requester: 'octocat',
  })
  return { manifest: parsed.manifest, spec }
}

/** What the scaffold writes for the manifest: run once in a scratch repository, read back. */
async function scaffoldFiles(
  dir: string,
  generator: Generator,
  manifest: Manifest,
  spec: string,
  log: Logger,
): Promise<Map<string, Buffer>> {
  await git(path.dirname(dir), ['init', '--quiet', '-b', 'main', dir])
  await generator.generate({
    workspace: dir,
    manifest,
    spec,
    signal: AbortSignal.timeout(60_000),
    log,
  })
  const files = new Map<string, Buffer>()
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.relative(dir, path.join(entry.parentPath, entry.name))
    if (!entry.isFile() || file.split(path.sep)[0] === '.git') continue
    files.set(file.split(path.sep).join('/'), await readFile(path.join(dir, file)))
  }
  return new Map([...files].sort(([a], [b]) => a.localeCompare(b)))
}

async function main(): Promise<void> {
  const files = option('files', 500, 1, 100_000)
  const commits = option('commits', 4, 1, 100)
  const runs = option('runs', 10, 1, 1000)
  const log = pino({ level: 'silent' })
  const root = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-generate-'))
  let runner: ReturnType<typeof createQueuedRunner> | undefined
  try {
    // 1. The remote, the manifest and the files the scaffold makes of it.
    print(`generate: files=${files} commits=${commits} runs=${runs} (in ${root})`)
    const repo = await seedBareRepo({ root, files, commits })
    const { manifest, spec } = await loadManifest()
    const config = parseRepoConfig(null)
    if (!config.ok) throw new Error('The repo config defaults do not validate')
    const generator = createGenerator('scaffold', config.config.generator)
    const generated = await scaffoldFiles(
      path.join(root, 'scratch'),
      generator,
      manifest,
      spec,
      log,
    )
    const generatedBytes = [...generated.values()].reduce((sum, b) => sum + b.length, 0)
    print(
      `  remote: ${repo.files.length} files, ${(repo.bareBytes / 1024 / 1024).toFixed(1)} MiB packed; ` +
        `scaffold: ${generated.size} files`,
    )

    // 2. DevSys: its git layer with a mirror cache, behind its job queue on SQLite.
    const tmpRoot = path.join(root, 'tmp')
    await mkdir(tmpRoot)
    const deps: DevsysDeps = {
      git: createGitWorkspaces({ cacheDir: path.join(root, 'cache'), tmpDir: tmpRoot, log }),
      repo: { fullName: 'bench/blog', cloneUrl: repo.url, defaultBranch: 'main' },
      generator,
      manifest,
      spec,
      identity: {
        name: 'DevSys Bench',
        email: 'devsys-bench@localhost',
        coAuthors: [{ name: 'octocat', email: 'octocat@users.noreply.github.com' }],
      },
      message: MESSAGE,
      log,
    }
    runner = createQueuedRunner({
      dataDir: path.join(root, 'data'),
      log,
      generate: (branch, signal) => runDevsys(deps, branch, signal),
    })
    const queued = runner

    // 3. Run 0 is cold (no mirror yet); then `runs` warm runs, alternating which side goes first.
    const devsysRuns: QueuedResult[] = []
    const baselineRuns: BaselinePhases[] = []
    const branches: string[] = []
    for (let i = 0; i <= runs; i++) {
      const devsysBranch = `devsys/create-blog-${i}`
      const baselineBranch = `baseline-${i}`
      const sides = [
        async () => devsysRuns.push(await queued.run(devsysBranch)),
        async () =>
          baselineRuns.push(
            await runBaseline({
              url: repo.url,
              tmpRoot,
              branch: baselineBranch,
              files: generated,
              message: MESSAGE,
            }),
          ),
      ]
      for (const side of i % 2 === 0 ? sides : sides.reverse()) await side()
      branches.push(devsysBranch, baselineBranch)
      const d = devsysRuns.at(-1)
      const b = baselineRuns.at(-1)
      print(
        `  run ${String(i).padStart(2)} ${i === 0 ? 'cold' : 'warm'}  DevSys ${d?.phases.total.toFixed(1)} ms ` +
          `(clone ${d?.phases.clone.toFixed(1)}, pushed ${d?.toPushed.toFixed(1)} ms after enqueue)  ` +
          `plain git ${b?.total.toFixed(1)} ms (clone ${b?.clone.toFixed(1)})`,
      )
    }
    const [coldDevsys, ...warmDevsys] = devsysRuns
    const [coldBaseline, ...warmBaseline] = baselineRuns
    if (!coldDevsys || !coldBaseline) throw new Error('No cold run was recorded')

    // 4. Every branch on the remote, with the generated files.
    const verified = await verifyBranches({
      bareDir: repo.bareDir,
      branches,
      mainFiles: repo.files,
      generated,
    })

    // 5. What simple-git's wait after a command without output costs, on this machine.
    const quietCommand = await measureQuietCommandCost(root, 10)

    // 6. Report.
    const input = {
      date: new Date().toISOString(),
      options: { files, commits, runs },
      repo,
      generatedFiles: generated.size,
      generatedBytes,
      cold: { devsys: coldDevsys, baseline: coldBaseline },
      warm: { devsys: warmDevsys, baseline: warmBaseline },
      verified,
      quietCommand,
    }
    const report = renderReport(input)
    print('')
    print(report)
    await writeFile(path.join(HERE, 'results.md'), report)
    const { bareDir: _bareDir, url: _url, ...repoFacts } = repo
    const phaseSummary = <T>(items: T[], pick: (item: T) => number) => summarize(items.map(pick))
    await writeFile(
      path.join(HERE, 'results.json'),
      `${JSON.stringify(
        {
          date: input.date,
          node: process.version,
          cpus: os.cpus().length,
          options: input.options,
          repo: { ...repoFacts, files: repo.files.length },
          generated: { files: [...generated.keys()], bytes: generatedBytes },
          warm: {
            devsys: Object.fromEntries(
              (['clone', 'generate', 'commit', 'push', 'cleanup', 'total'] as const).map((k) => [
                k,
                phaseSummary(warmDevsys, (r) => r.phases[k]),
              ]),
            ),
            baseline: Object.fromEntries(
              (['clone', 'write', 'commit', 'push', 'cleanup', 'total'] as const).map((k) => [
                k,
                phaseSummary(warmBaseline, (r) => r[k]),
              ]),
            ),
            queue: Object.fromEntries(
              (['pickup', 'toPushed', 'toDone'] as const).map((k) => [
                k,
                phaseSummary(warmDevsys, (r) => r[k]),
              ]),
            ),
          },
          runs: {
            devsys: devsysRuns.map(({ phases: { pushedAt: _at, ...phases }, ...queue }) => ({
              ...queue,
              phases,
            })),
            baseline: baselineRuns,
          },
          quietCommand,
          verified,
        },
        null,
        2,
      )}\n`,
    )
    if (!verified.ok) process.exitCode = 1
  } finally {
    await runner?.stop()
    await rm(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exitCode = 1
})
