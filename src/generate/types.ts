import type { Logger } from 'pino'
import type { Manifest } from '../manifest/types.js'

/** What a generator is asked to do: write the task's code into a checked-out work tree. */
export interface GenerateRequest {
  /** Absolute path of the task's work tree (a temporary clone on branch devsys/<task-id>). */
  workspace: string
  manifest: Manifest
  /** The normalized task spec (YAML) the manifest became. */
  spec: string
  /** Feedback from `/revise <text>`, added to the prompt of a re-run. */
  feedback?: string
  /** Which run of the self-fix loop this is: 1 for the first, 2 after the first test run, … */
  iteration?: number
  /** The tests of the previous iteration, when they failed: what the agent is asked to fix. */
  previousTests?: TestFeedback
  signal: AbortSignal
  log: Logger
}

export interface GenerateResult {
  /** Paths the generator added, changed or removed, relative to the workspace, sorted. */
  files: string[]
  /** One line for people: what was generated. */
  summary: string
  /** What a coding agent did (agent and command generators that report it). */
  activity?: AgentActivity
}

/** A failing test of the previous iteration, as the agent is told about it. */
export interface FailingTest {
  /** Suite › class › name, as reported. */
  name: string
  status: 'failed' | 'errored'
  message?: string
  /** Repository-relative, when the report located it. */
  file?: string
  line?: number
  /** The failure's details (a stack trace, a diff), capped. */
  details?: string
}

/** The result of the previous iteration's test run, given to the agent to fix. */
export interface TestFeedback {
  /** One line, e.g. "2 of 7 tests failed" or "the test command exited with code 1 and wrote no report". */
  summary: string
  failures: FailingTest[]
  /** The end of the test command's output (stdout and stderr), capped. */
  outputTail: string
}

/** What a coding agent did in one run, summarised for the PR, the check run and the store. */
export interface AgentActivity {
  /** The agent: `opencode`, `codex`, or the command's program name. */
  agent: string
  /** The model it used, when known. */
  model?: string
  /** Its tool calls in order, each with a short description (a path, a command's first line). */
  toolCalls: Array<{ tool: string; summary: string }>
  /** Tokens the model used in this run, when the agent reports them. */
  usage?: TokenUsage
  durationMs: number
}

export interface TokenUsage {
  inputTokens: number
  outputTokens: number
  /** Input tokens served from the provider's cache, when reported (included in inputTokens). */
  cachedInputTokens?: number
}

/** Writes a task's code. Implementations: scaffold (built-in templates) and command (an agent CLI). */
export interface Generator {
  kind: 'scaffold' | 'command' | 'agent'
  generate(request: GenerateRequest): Promise<GenerateResult>
}

export type GenerateErrorCode =
  | 'timeout'
  | 'exit-code'
  | 'output-limit'
  | 'escape'
  | 'forbidden-path'
  | 'unsupported-stack'
  | 'not-configured'
  /** The manifest's free-form `data` does not have the shape the scaffold needs. */
  | 'invalid-data'

/**
 * An expected generator failure, with a message that tells the user what happened and what to
 * do. The job reports it on the issue or PR and pushes nothing.
 */
export class GenerateError extends Error {
  constructor(
    readonly code: GenerateErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'GenerateError'
  }
}
