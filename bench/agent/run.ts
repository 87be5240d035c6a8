/**
 * Agent benchmark (issue 11, item 7): what an iteration of a coding agent costs DevSys, over the
 * agent's own run time. For opencode and Codex (DevSys's pinned binaries), with a scripted fake
 * model (test/support/fake-llm.ts), side by side in each round:
 * - bare: the agent binary with the preset's argv, environment and config, straight against
 *   the fake model (no sandbox, proxy, forwarder or checks);
 * - DevSys: one iteration through createGenerator('agent', …) (sandbox, model proxy, prompt,
 *   git guard, change checks), and the same unconfined (sandbox off), for the breakdown;
 * - loop: two iterations of the self-fix loop as runGeneration runs it (clone, commit, push to
 *   a local bare remote, tests on a clean checkout in the local runner's sandbox), the first
 *   leaving a failing test; its bare side is the agent run twice on one work tree.
 *
 *   npx tsx bench/agent/run.ts [--rounds=5] [--warmup=1] [--agents=opencode,codex]
 *   (or BENCH_ROUNDS, BENCH_WARMUP, BENCH_AGENTS)
 *
 * Needs bubblewrap on a host that allows namespaces, git, and the agents' npm packages (`npm
 * ci` on Linux). Exits non-zero when a run fails or leaves the wrong files or tests.
 */
import { execFile } from 'node:child_process'
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { createLocalRunner } from '../../runner/local/create-local-runner.js'
import { DEFAULT_SANDBOX } from '../../runner/sandbox/sandbox-settings.js'
import type { AgentName } from '../../src/config/load-repo-config.js'
import { checkAgentVersion } from '../../src/generate/agent/agent-binaries.js'
import { createGenerator } from '../../src/generate/create-generator.js'
import type { GenerateRequest } from '../../src/generate/types.js'
import { createGitWorkspaces } from '../../src/git/create-git-workspaces.js'
import { buildTaskSpec } from '../../src/manifest/build-task-spec.js'
import type { Manifest } from '../../src/manifest/types.js'
import { createWorkspace, loadManifest } from '../../test/generate/workspace.js'
import { startFakeLlm } from '../../test/support/fake-llm.js'
import { intOption, option } from '../lib/options.js'
import { type BareRun, runBare } from './bare.js'
import { generatorConfig, type LoopRun, runLoop, runSingle, type SingleRun } from './devsys.js'
import { type AgentRound, renderReport, summarizeAgent } from './report.js'
import {
  JUNIT_PATH,
  oneWrite,
  TEST_COMMAND,
  TEST_SCRIPT,
  TEST_SCRIPT_PATH,
  WANTED,
  writeOf,
} from './scenarios.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const exec = promisify(execFile)
const KEY = 'sk-devsys-bench-not-a-real-key'
const LIMITS = { forbiddenPaths: ['.github/'], maxOutputBytes: 20 * 1024 * 1024 }
const IDENTITY = {
  name: 'DevSys Bench',
  email: 'devsys-bench@localhost',
  coAuthors: [] as Array<{ name: string; email: string }>,
}

function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

async function version(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { timeout: 10_000 })
    return (stdout.trim() || stderr.trim()).split('\n')[0] ?? ''
  } catch (error) {
    return `unavailable (${(error as { code?: string }).code ?? 'error'})`
  }
}

async function git(cwd: string, args: string[]): Promise<string> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@localhost',
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@localhost',
  }
  return (await exec('git', args, { cwd, env })).stdout
}

/** The remote standing in for GitHub: a bare repository whose main holds the task's test. */
async function seedRemote(root: string): Promise<string> {
  const bare = path.join(root, 'remote.git')
  const seed = path.join(root, 'seed')
  await git(root, ['init', '--quiet', '--bare', '-b', 'main', bare])
  await git(root, ['init', '--quiet', '-b', 'main', seed])
  await mkdir(path.join(seed, 'tests'))
  await writeFile(path.join(seed, 'README.md'), '# A project\n')
  await writeFile(path.join(seed, TEST_SCRIPT_PATH), TEST_SCRIPT)
  await writeFile(path.join(seed, '.gitignore'), 'build/\n')
  await git(seed, ['add', '-A'])
  await git(seed, ['commit', '--quiet', '-m', 'The project and its test'])
  await git(seed, ['push', '--quiet', `file://${bare}`, 'main'])
  return bare
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  )
}

function fail(what: string, detail = ''): never {
  throw new Error(`${what}${detail === '' ? '' : `\n${detail.slice(-3000)}`}`)
}

async function main(): Promise<void> {
  const rounds = intOption('rounds', 5, 1, 100)
  const warmup = intOption('warmup', 1, 0, 10)
  const agents = (option('agents') ?? 'opencode,codex').split(',') as AgentName[]
  for (const agent of agents) {
    if (agent !== 'opencode' && agent !== 'codex') fail(`--agents: unknown agent ${agent}`)
  }
  const loadavgBefore = os.loadavg()
  const log = pino({ level: 'silent' })
  const root = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-agent-'))
  try {
    print(`agent: rounds=${rounds} warmup=${warmup} agents=${agents.join(',')} (in ${root})`)
    const tools: Record<string, string> = {}
    for (const agent of agents) {
      const checked = await checkAgentVersion(agent)
      if (!checked.ok) fail(checked.message)
      tools[agent] = checked.version
    }
    tools.bwrap = await version('bwrap', ['--version'])
    tools.git = await version('git', ['--version'])

    // 1. The task (its tests are the seeded sh script), the remote, DevSys's git and runner.
    const manifest: Manifest = await loadManifest('specs/create-blog.json', (value) => {
      value.tests = { command: TEST_COMMAND, junit: JUNIT_PATH, timeoutSeconds: 60 }
    })
    const spec = buildTaskSpec(manifest, { kind: 'api', repo: 'bench/agent', requester: 'octocat' })
    const bare = await seedRemote(root)
    const tmpDir = path.join(root, 'tmp')
    await mkdir(tmpDir)
    const workspaces = createGitWorkspaces({ cacheDir: path.join(root, 'cache'), tmpDir, log })
    const repo = { fullName: 'bench/agent', cloneUrl: `file://${bare}`, defaultBranch: 'main' }
    const runner = createLocalRunner({ tmpDir })
    const unconfined = { ...DEFAULT_SANDBOX, enabled: false }
    const request = (workspace: string, iteration?: number): GenerateRequest => ({
      workspace,
      manifest,
      spec,
      signal: AbortSignal.timeout(5 * 60_000),
      log,
      ...(iteration === undefined ? {} : { iteration }),
    })

    // 2. The sides of one round for one agent.
    const bareSide = async (agent: AgentName): Promise<BareRun[]> => {
      const ws = await createWorkspace()
      try {
        const runs: BareRun[] = []
        for (const i of [1, 2]) {
          const fake = await startFakeLlm({ script: oneWrite(agent, writeOf(i)) })
          try {
            const run = await runBare({
              agent,
              model: 'fake-coder-1',
              baseUrl: fake.url,
              request: request(ws.dir, i),
              limits: LIMITS,
            })
            if (run.exitCode !== 0) fail(`bare ${agent} exited with ${run.exitCode}`, run.output)
            if (!(await exists(path.join(ws.dir, writeOf(i).path))))
              fail(`bare ${agent} did not write ${writeOf(i).path}`, run.output)
            runs.push(run)
          } finally {
            await fake.close()
          }
        }
        return runs
      } finally {
        await ws.cleanup()
      }
    }
    const singleSide = async (agent: AgentName, sandboxed: boolean): Promise<SingleRun> => {
      const ws = await createWorkspace()
      const fake = await startFakeLlm({ script: oneWrite(agent, writeOf(1)) })
      try {
        const generator = createGenerator('agent', generatorConfig(agent), {
          agent: { endpoint: { baseUrl: fake.url, apiKey: KEY }, unavailable: {} },
          ...(sandboxed ? {} : { sandbox: unconfined }),
        })
        const run = await runSingle(generator, request(ws.dir))
        if (!run.result.files.includes(writeOf(1).path))
          fail(`DevSys's ${agent} run changed ${run.result.files.join(', ')}`)
        return run
      } finally {
        await fake.close()
        await ws.cleanup()
      }
    }
    const loopSide = async (agent: AgentName, branch: string): Promise<LoopRun> => {
      const fake = await startFakeLlm({
        script: [...oneWrite(agent, writeOf(1)), ...oneWrite(agent, writeOf(2))],
      })
      try {
        const generator = createGenerator('agent', generatorConfig(agent), {
          agent: { endpoint: { baseUrl: fake.url, apiKey: KEY }, unavailable: {} },
        })
        const run = await runLoop({
          git: workspaces,
          repo,
          branch,
          generator,
          runner,
          manifest,
          spec,
          identity: IDENTITY,
          log,
        })
        const tests = run.loop.iterations.map((it) => it.tests?.conclusion)
        if (run.loop.end !== 'passed' || tests.join() !== 'failure,success')
          fail(`DevSys's ${agent} loop ended ${run.loop.end} with tests ${tests.join(', ')}`)
        const files = await git(bare, ['ls-tree', '-r', '--name-only', branch])
        for (const wanted of WANTED)
          if (!files.split('\n').includes(wanted)) fail(`${branch} on the remote lacks ${wanted}`)
        return run
      } finally {
        await fake.close()
      }
    }

    // 3. Rounds: warm-up rounds first (checked, not kept), the side going first alternating.
    const results: Record<string, AgentRound[]> = {}
    for (const agent of agents) {
      const kept: AgentRound[] = []
      for (let r = -warmup; r < rounds; r++) {
        const round: Partial<AgentRound> = {}
        const sides = [
          async () => {
            round.bare = await bareSide(agent)
          },
          async () => {
            round.devsys = await singleSide(agent, true)
          },
          async () => {
            round.unconfined = await singleSide(agent, false)
          },
          async () => {
            round.loop = await loopSide(agent, `devsys/${agent}-${r + warmup}`)
          },
        ]
        for (const side of r % 2 === 0 ? sides : sides.reverse()) await side()
        const done = round as AgentRound
        const s = summarizeAgent([done])
        print(
          `  ${agent} ${r < 0 ? 'warm-up' : `round ${r + 1}`}: bare ${done.bare.map((b) => b.ms.toFixed(0)).join(' + ')} ms, ` +
            `DevSys iteration ${done.devsys.totalMs.toFixed(0)} ms (unconfined ${done.unconfined.totalMs.toFixed(0)}), ` +
            `loop ${done.loop.totalMs.toFixed(0)} ms; overhead ${s.single.overheadMs.median.toFixed(0)} ms/iteration, ` +
            `${s.loop.overheadMs.median.toFixed(0)} ms/loop iteration`,
        )
        if (r >= 0) kept.push(done)
      }
      results[agent] = kept
    }

    // 4. Report.
    const input = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
      loadavgBefore,
      loadavg: os.loadavg(),
      tools,
      options: { rounds, warmup, agents },
      results,
    }
    const report = renderReport(input)
    print('')
    print(report)
    await writeFile(path.join(HERE, 'results.md'), report)
    await writeFile(
      path.join(HERE, 'results.json'),
      `${JSON.stringify(
        {
          ...input,
          results: undefined,
          summary: Object.fromEntries(
            Object.entries(results).map(([agent, kept]) => [agent, summarizeAgent(kept)]),
          ),
          rounds: Object.fromEntries(
            Object.entries(results).map(([agent, kept]) => [
              agent,
              kept.map((round) => ({
                bareMs: round.bare.map((b) => b.ms),
                devsys: { totalMs: round.devsys.totalMs, runMs: round.devsys.runMs },
                unconfined: { totalMs: round.unconfined.totalMs, runMs: round.unconfined.runMs },
                loop: {
                  totalMs: round.loop.totalMs,
                  workspaceMs: round.loop.workspaceMs,
                  iterations: round.loop.iterations,
                },
              })),
            ]),
          ),
        },
        null,
        2,
      )}\n`,
    )
  } finally {
    await rm(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exitCode = 1
})
