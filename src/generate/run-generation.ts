import type { Logger } from 'pino'
import { commitChanges } from '../git/commit-changes.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { pushBranch } from '../git/push-branch.js'
import type { CommitIdentity, GitAuth, RepoRef } from '../git/types.js'
import type { Manifest } from '../manifest/types.js'
import type { Generator } from './types.js'

export interface Generation {
  /** The branch tip after the run: the new commit, or the unchanged tip when nothing changed. */
  sha: string
  committed: boolean
  files: string[]
  summary: string
}

/**
 * One generation, the same for the GitHub job and local mode: a temporary clone on the task's
 * branch, the generator, one commit by `identity`, and a push (only when something changed).
 * A generator or git failure throws before anything is pushed; the clone is always removed.
 */
export async function runGeneration(input: {
  git: GitWorkspaces
  repo: RepoRef
  branch: string
  auth: GitAuth | undefined
  generator: Generator
  manifest: Manifest
  spec: string
  feedback?: string | undefined
  identity: CommitIdentity
  message: string
  signal: AbortSignal
  log: Logger
}): Promise<Generation> {
  return input.git.withWorkspace(
    input.repo,
    input.branch,
    input.auth,
    async (ws) => {
      const result = await input.generator.generate({
        workspace: ws.dir,
        manifest: input.manifest,
        spec: input.spec,
        ...(input.feedback === undefined ? {} : { feedback: input.feedback }),
        signal: input.signal,
        log: input.log,
      })
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
