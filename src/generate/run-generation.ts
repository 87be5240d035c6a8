import type { Logger } from 'pino'
import { commitChanges } from '../git/commit-changes.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { pushBranch } from '../git/push-branch.js'
import type { CommitIdentity, GitAuth, GitRepo, Workspace } from '../git/types.js'
import type { Manifest } from '../manifest/types.js'
import { type LoopResult, type LoopSteps, runSelfFixLoop } from './self-fix-loop.js'
import type { Generator } from './types.js'

export interface Generation {
  /** The branch tip after the run: the new commit, or the unchanged tip when nothing changed. */
  sha: string
  committed: boolean
  files: string[]
  summary: string
  /** The self-fix loop's iterations, when the generation ran one. */
  loop?: LoopResult
}

/** The self-fix loop's settings and the steps the caller provides (tests and their reports). */
export interface LoopOptions extends Pick<LoopSteps, 'tested' | 'save'> {
  maxIterations: number
  budgetMs: number
  /** A commit whose tests already ran (a first iteration changing nothing is not retested). */
  testedSha?: string | undefined
  /** Runs the task's tests on `sha`, a commit of the workspace `ws`. */
  test(ws: Workspace, sha: string, iteration: number): ReturnType<LoopSteps['test']>
  now?: () => number
}

/**
 * One generation, the same for the GitHub job and local mode: a temporary clone on the task's
 * branch, the generator, one commit by `identity`, and a push (only when something changed).
 * With `loop`, the self-fix loop (self-fix-loop.ts) runs instead: an iteration is a commit,
 * pushed as it is made. A generator or git failure of the first run throws before anything is
 * pushed; the clone is always removed.
 */
export async function runGeneration(input: {
  git: GitWorkspaces
  repo: GitRepo
  branch: string
  auth: GitAuth | undefined
  generator: Generator
  manifest: Manifest
  spec: string
  feedback?: string | undefined
  identity: CommitIdentity
  message: string
  loop?: LoopOptions | undefined
  signal: AbortSignal
  log: Logger
}): Promise<Generation> {
  const request = (ws: Workspace) => ({
    workspace: ws.dir,
    manifest: input.manifest,
    spec: input.spec,
    ...(input.feedback === undefined ? {} : { feedback: input.feedback }),
    signal: input.signal,
    log: input.log,
  })
  return input.git.withWorkspace(
    input.repo,
    input.branch,
    input.auth,
    async (ws) => {
      const { loop } = input
      if (loop !== undefined) {
        const result = await runSelfFixLoop(
          {
            generate: (iteration, previousTests) =>
              input.generator.generate({
                ...request(ws),
                iteration,
                ...(previousTests === undefined ? {} : { previousTests }),
              }),
            commit: (message) => commitChanges(ws, { message, identity: input.identity }),
            push: () => pushBranch(ws, input.auth),
            test: (sha, iteration) => loop.test(ws, sha, iteration),
            tested: loop.tested,
            save: loop.save,
          },
          {
            maxIterations: loop.maxIterations,
            budgetMs: loop.budgetMs,
            message: input.message,
            testedSha: loop.testedSha,
            ...(loop.now === undefined ? {} : { now: loop.now }),
          },
        )
        const last = result.iterations.findLast((i) => i.summary !== '')
        // The summary is one run's (its tool calls, tokens, files): after several, say which.
        const summary =
          last === undefined
            ? ''
            : result.iterations.length > 1
              ? `Iteration ${last.iteration}: ${last.summary}`
              : last.summary
        return {
          sha: result.sha,
          committed: result.committed,
          files: result.files,
          summary,
          loop: result,
        }
      }
      const result = await input.generator.generate(request(ws))
      const commit = await commitChanges(ws, { message: input.message, identity: input.identity })
      if (commit.committed) await pushBranch(ws, input.auth)
      return {
        sha: commit.sha,
        committed: commit.committed,
        files: commit.files,
        summary: result.summary,
      }
    },
    input.signal,
  )
}
