import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { Generator } from '../../src/generate/types.js'
import { commitChanges } from '../../src/git/commit-changes.js'
import type { GitWorkspaces } from '../../src/git/create-git-workspaces.js'
import { gitEnv, openGit } from '../../src/git/git-env.js'
import { pushBranch } from '../../src/git/push-branch.js'
import type { CommitIdentity, GitRepo } from '../../src/git/types.js'
import type { Manifest } from '../../src/manifest/types.js'

export interface DevsysPhases {
  /** withWorkspace called → its callback runs: lock, mirror update, local clone, checkout. */
  clone: number
  generate: number
  commit: number
  push: number
  /** Callback done → withWorkspace resolved: the temporary clone removed. */
  cleanup: number
  total: number
  /** performance.now() when the push had completed, for the queue's enqueue → pushed figure. */
  pushedAt: number
}

export interface DevsysDeps {
  git: GitWorkspaces
  repo: GitRepo
  generator: Generator
  manifest: Manifest
  spec: string
  identity: CommitIdentity
  message: string
  log: Logger
}

/**
 * One generation with a timestamp between steps. The steps are runGeneration's
 * (src/generate/run-generation.ts), in its order and with its arguments, called one by one
 * because runGeneration has no hook between commit and push.
 */
export async function runDevsys(
  deps: DevsysDeps,
  branch: string,
  signal: AbortSignal,
): Promise<DevsysPhases> {
  const t0 = performance.now()
  let t1 = t0
  let t2 = t0
  let t3 = t0
  let t4 = t0
  await deps.git.withWorkspace(
    deps.repo,
    branch,
    undefined,
    async (ws) => {
      t1 = performance.now()
      await deps.generator.generate({
        workspace: ws.dir,
        manifest: deps.manifest,
        spec: deps.spec,
        signal,
        log: deps.log,
      })
      t2 = performance.now()
      const commit = await commitChanges(ws, { message: deps.message, identity: deps.identity })
      t3 = performance.now()
      if (!commit.committed) {
        throw new Error(`The scaffold changed nothing on ${branch}; the benchmark expects a commit`)
      }
      await pushBranch(ws, undefined)
      t4 = performance.now()
    },
    signal,
  )
  const t5 = performance.now()
  return {
    clone: t1 - t0,
    generate: t2 - t1,
    commit: t3 - t2,
    push: t4 - t3,
    cleanup: t5 - t4,
    total: t5 - t0,
    pushedAt: t4,
  }
}

/**
 * What a git command costs through DevSys's openGit (simple-git) when it prints nothing versus
 * when it prints: simple-git waits 50 ms more after a command with no output before resolving
 * (its completion-detection plugin), and many of DevSys's git commands are quiet. Median of
 * `rounds` runs of `git check-ref-format` without and with `--branch` (which prints the name).
 */
export async function measureQuietCommandCost(
  dir: string,
  rounds: number,
): Promise<{ quietMs: number; printingMs: number }> {
  const git = openGit(dir, gitEnv())
  const time = async (args: string[]) => {
    const samples: number[] = []
    for (let i = 0; i < rounds; i++) {
      const started = performance.now()
      await git.raw(args)
      samples.push(performance.now() - started)
    }
    return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? Number.NaN
  }
  return {
    quietMs: await time(['check-ref-format', 'refs/heads/main']),
    printingMs: await time(['check-ref-format', '--branch', 'main']),
  }
}
