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
  signal: AbortSignal
  log: Logger
}

export interface GenerateResult {
  /** Paths the generator added, changed or removed, relative to the workspace, sorted. */
  files: string[]
  /** One line for people: what was generated. */
  summary: string
}

/** Writes a task's code. Implementations: scaffold (built-in templates) and command (an agent CLI). */
export interface Generator {
  kind: 'scaffold' | 'command'
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
