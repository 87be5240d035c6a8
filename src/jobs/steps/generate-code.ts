import type { Logger } from 'pino'
import type { SandboxSettings } from '../../../runner/sandbox/sandbox-settings.js'
import type { Enqueue, GitHubAuth, GitHubClient, RunnerFor } from '../../app-deps.js'
import type { GeneratorKind, RepoConfig } from '../../config/load-repo-config.js'
import { type AgentServerSettings, createGenerator } from '../../generate/create-generator.js'
import { type Generation, runGeneration } from '../../generate/run-generation.js'
import type { LoopResult } from '../../generate/self-fix-loop.js'
import { GenerateError } from '../../generate/types.js'
import type { GitWorkspaces } from '../../git/create-git-workspaces.js'
import { GitError } from '../../git/git-error.js'
import type { CommitIdentity } from '../../git/types.js'
import type { Manifest } from '../../manifest/types.js'
import type { Notify } from '../../notify/events.js'
import { formatLoopReport } from '../../report/format-iterations.js'
import type {
  CommentStore,
  GenerationStore,
  Task,
  TaskStore,
  TestRunStore,
} from '../../store/store.js'
import type { GeneratePayload } from '../../triggers/job-payloads.js'
import { type GenerateLoop, startGenerateLoop } from './generate-loop.js'

/*
 * The generate job's middle step (generate-task.ts is the recipe): the code generated,
 * committed and pushed, with the self-fix loop where one runs.
 */

/** What the `generate` job needs (defined beside the step that uses most of it). */
export interface GenerateDeps {
  store: TaskStore & TestRunStore & GenerationStore & CommentStore
  auth: GitHubAuth
  git: GitWorkspaces
  /** Starts the tests of what was pushed. */
  enqueue: Enqueue
  maxManifestBytes: number
  /** Where a command generator's agent runs (the server's sandbox settings). */
  sandbox?: SandboxSettings
  /** The coding agents' model endpoint (AGENT_*), for the agent generator. */
  agent?: AgentServerSettings
  /**
   * The test runner for a repo config's choice. With it, command and agent generators run the
   * self-fix loop (tests after each iteration); without it their tests run in a `run-tests` job.
   */
  runner?: RunnerFor
  /** Makes the generator; default createGenerator (tests pass generators that report activity). */
  createGenerator?: typeof createGenerator
  /** The loop's clock, for its time budget; default Date.now. */
  now?: () => number
  /** Tells the repository's subscribers of the task's pull request. */
  notify?: Notify | undefined
}

/** What a generation needs, read before anything is generated. */
export interface Prepared {
  task: Task
  manifest: Manifest
  config: RepoConfig
  generatorKind: GeneratorKind
  identity: CommitIdentity
  token: string
  branch: string
}

/** What was pushed, and how the self-fix loop (if one ran its tests) ended. */
export interface Pushed {
  pushed: Generation
  /** The loop, when its tests ran. */
  looped: LoopResult | undefined
  loopReport: string | undefined
}

/**
 * Generates, commits and pushes; an expected failure of the first run pushes nothing (and is
 * returned, for the job to tell people). Command
 * and agent generators run the self-fix loop: tests after each iteration, and another run with
 * the failures while iterations and time are left.
 */
export async function generateCode(
  github: GitHubClient,
  deps: GenerateDeps,
  payload: GeneratePayload,
  prepared: Prepared,
  log: Logger,
  signal: AbortSignal,
): Promise<Pushed | { failed: GenerateError }> {
  const { task, config, generatorKind } = prepared
  const loop = await startLoop(github, deps, payload, prepared, log, signal)
  let pushed: Generation
  try {
    const generator = (deps.createGenerator ?? createGenerator)(generatorKind, config.generator, {
      ...(deps.sandbox === undefined ? {} : { sandbox: deps.sandbox }),
      ...(deps.agent === undefined ? {} : { agent: deps.agent }),
    })
    pushed = await runGeneration({
      git: deps.git,
      repo: payload.repo,
      branch: prepared.branch,
      auth: { token: prepared.token },
      generator,
      manifest: prepared.manifest,
      spec: task.spec,
      feedback: payload.feedback,
      identity: prepared.identity,
      message:
        payload.reason === 'revise'
          ? `Revise ${task.id}: ${firstLine(payload.feedback)}`
          : `Generate ${task.id} (revision ${task.revision})`,
      loop: loop?.options,
      signal,
      log,
    })
    if (pushed.loop !== undefined) await loop?.finish(pushed.loop)
  } catch (error) {
    await loop?.fail(error)
    if (error instanceof GenerateError) return { failed: error }
    // Git failures (a moved branch, an unreachable remote) may pass: let the queue retry.
    if (error instanceof GitError)
      log.warn({ code: error.code }, 'git step failed; the job will retry')
    throw error
  }
  const looped =
    pushed.loop !== undefined && pushed.loop.end !== 'untested' ? pushed.loop : undefined
  const loopReport =
    looped === undefined || loop === undefined ? undefined : formatLoopReport(looped, loop.limits)
  return { pushed, looped, loopReport }
}

/** The self-fix loop's GitHub side, for command and agent generators when a runner is set. */
async function startLoop(
  github: GitHubClient,
  deps: GenerateDeps,
  payload: GeneratePayload,
  { task, manifest, config, generatorKind }: Prepared,
  log: Logger,
  signal: AbortSignal,
): Promise<GenerateLoop | undefined> {
  const { runner } = deps
  if (generatorKind === 'scaffold' || runner === undefined) return undefined
  return startGenerateLoop({
    github,
    store: deps.store,
    target: targetOf(payload),
    task,
    manifest,
    config,
    generator:
      generatorKind === 'agent' && config.generator.agent !== undefined
        ? `agent:${config.generator.agent}`
        : generatorKind,
    reason: payload.reason,
    runner: () => runner(config.runner, log),
    now: deps.now,
    signal,
    log,
  })
}

/** The owner and name, as the REST API wants them. */
export function targetOf(payload: GeneratePayload): { owner: string; repo: string } {
  return { owner: payload.repo.owner, repo: payload.repo.name }
}

function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n')[0]?.trim() ?? ''
  return line.length > 60 ? `${line.slice(0, 60)}…` : line
}
