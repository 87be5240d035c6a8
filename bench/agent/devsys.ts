import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { Runner } from '../../runner/types.js'
import type { RepoConfig } from '../../src/config/load-repo-config.js'
import { runGeneration } from '../../src/generate/run-generation.js'
import type { LoopResult } from '../../src/generate/self-fix-loop.js'
import type { GenerateRequest, GenerateResult, Generator } from '../../src/generate/types.js'
import type { GitWorkspaces } from '../../src/git/create-git-workspaces.js'
import type { CommitIdentity, GitRepo } from '../../src/git/types.js'
import { withCleanCheckout } from '../../src/git/with-clean-checkout.js'
import type { Manifest } from '../../src/manifest/types.js'
import { runTaskTests } from '../../src/testing/run-task-tests.js'

/** The repo config's generator section the benchmark uses for both agents. */
export function generatorConfig(agent: 'opencode' | 'codex'): RepoConfig['generator'] {
  return {
    kind: 'agent',
    agent,
    model: 'fake-coder-1',
    maxIterations: 2,
    budgetSeconds: 3600,
    timeoutSeconds: 120,
    forbiddenPaths: ['.github/'],
  }
}

export interface SingleRun {
  /** generate() called → resolved. */
  totalMs: number
  /**
   * The agent's part as runGuarded times it (activity.durationMs, whole ms): the private folders,
   * the prompt, the proxy, the sandbox and forwarder, the agent, the proxy's close.
   */
  runMs: number
  result: GenerateResult
}

/** One generation iteration through the agent generator (what a loop iteration runs first). */
export async function runSingle(
  generator: Generator,
  request: GenerateRequest,
): Promise<SingleRun> {
  const started = performance.now()
  const result = await generator.generate(request)
  const totalMs = performance.now() - started
  return { totalMs, runMs: result.activity?.durationMs ?? Number.NaN, result }
}

export interface LoopIterationTimes {
  /** The generator's generate(). */
  generateMs: number
  /** Its agent part (activity.durationMs). */
  runMs: number
  /** Commit and, when something changed, push: the iteration's time less generate and tests. */
  commitPushMs: number
  /** The clean checkout of the commit (a git worktree), the tests, its removal. */
  testMs: number
  /** runTaskTests alone: ls-files, the local runner (sandbox, copy, sh), the JUnit parse. */
  testRunMs: number
  /** The local runner's run() alone: run folder, copy, sandboxed sh, the report read back. */
  runnerMs: number
  /** The loop's own figure for the iteration: generate → tests done. */
  iterationMs: number
}

export interface LoopRun {
  /** runGeneration called → resolved: the clone, both iterations, the clone's removal. */
  totalMs: number
  /** What is not in any iteration: the workspace's clone and removal. */
  workspaceMs: number
  iterations: LoopIterationTimes[]
  loop: LoopResult
}

/**
 * The self-fix loop as the generate job runs it (src/jobs/steps/generate-loop.ts): runGeneration
 * with a loop whose tests run on a clean checkout of each commit through runTaskTests, without
 * GitHub's check runs and the store (test, tested and save only time and record).
 */
export async function runLoop(input: {
  git: GitWorkspaces
  repo: GitRepo
  branch: string
  generator: Generator
  runner: Runner
  manifest: Manifest
  spec: string
  identity: CommitIdentity
  log: Logger
}): Promise<LoopRun> {
  const generateMs: number[] = []
  const runMs: number[] = []
  const testMs: number[] = []
  const testRunMs: number[] = []
  const runnerMs: number[] = []
  const runner: Runner = {
    kind: input.runner.kind,
    async run(request) {
      const started = performance.now()
      try {
        return await input.runner.run(request)
      } finally {
        runnerMs.push(performance.now() - started)
      }
    },
  }
  const timed: Generator = {
    kind: input.generator.kind,
    async generate(request) {
      const started = performance.now()
      const result = await input.generator.generate(request)
      generateMs.push(performance.now() - started)
      runMs.push(result.activity?.durationMs ?? Number.NaN)
      return result
    },
  }
  const signal = AbortSignal.timeout(10 * 60_000)
  const started = performance.now()
  const generation = await runGeneration({
    git: input.git,
    repo: input.repo,
    branch: input.branch,
    auth: undefined,
    generator: timed,
    manifest: input.manifest,
    spec: input.spec,
    identity: input.identity,
    message: `Generate ${input.manifest.id}`,
    loop: {
      maxIterations: 2,
      budgetMs: 3600_000,
      async test(ws, sha) {
        const begun = performance.now()
        let ran = 0
        const outcome = await withCleanCheckout(ws, sha, async (dir) => {
          const t = performance.now()
          const result = await runTaskTests({
            runner,
            workspace: dir,
            manifest: input.manifest,
            signal,
            log: input.log,
          })
          ran = performance.now() - t
          return result
        })
        testMs.push(performance.now() - begun)
        testRunMs.push(ran)
        return { outcome, testRunId: null }
      },
      tested: async () => undefined,
      save: async () => undefined,
    },
    signal,
    log: input.log,
  })
  const totalMs = performance.now() - started
  const loop = generation.loop
  if (loop === undefined) throw new Error('runGeneration ran no loop')
  const iterations = loop.iterations.map((it, i) => {
    const g = generateMs[i] ?? Number.NaN
    const t = testMs[i] ?? 0
    return {
      generateMs: g,
      runMs: runMs[i] ?? Number.NaN,
      commitPushMs: it.durationMs - g - t,
      testMs: t,
      testRunMs: testRunMs[i] ?? 0,
      runnerMs: runnerMs[i] ?? 0,
      iterationMs: it.durationMs,
    }
  })
  const inIterations = iterations.reduce((sum, it) => sum + it.iterationMs, 0)
  return { totalMs, workspaceMs: totalMs - inIterations, iterations, loop }
}
