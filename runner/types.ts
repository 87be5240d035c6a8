import type { Logger } from 'pino'

/** One run of a task's test command in a sandbox. */
export interface RunRequest {
  /** Local directory holding the task's code (a checkout of the commit under test). */
  workspace: string
  /** The test command as an argument list (argv); never a shell string. */
  command: string[]
  /** Where the command writes its JUnit report, relative to the workspace. */
  junitPath: string
  /** The run is killed after this long. */
  timeoutMs: number
  /** stdout and stderr are each capped to this many bytes (the tail is kept). */
  maxOutputBytes: number
  /** The largest report copied back; a bigger one is `too-large`. */
  maxReportBytes: number
  /** Extra environment for the command (never tokens or keys). */
  env?: Record<string, string>
  signal: AbortSignal
  log: Logger
}

/** A captured output stream: its tail, and how much was dropped to stay under the cap. */
export interface CapturedOutput {
  text: string
  droppedBytes: number
}

export type ReportFile =
  | { kind: 'found'; xml: Buffer }
  | { kind: 'missing' }
  | { kind: 'too-large'; bytes: number }

export interface RunResult {
  runner: RunnerKind
  /** Exit code of the test command; null when it was killed. */
  exitCode: number | null
  timedOut: boolean
  durationMs: number
  /**
   * The directory the command ran in, as the command saw it: reports hold absolute paths under it
   * (PHPUnit, Catch2, Mocha), which the parser makes repository-relative. Every runner sets it.
   */
  workdir: string
  stdout: CapturedOutput
  stderr: CapturedOutput
  report: ReportFile
}

export type RunnerKind = 'local' | 'docker' | 'remote-ssh'

/** Where task code runs: a local child process, a Docker container, or a host over SSH. */
export interface Runner {
  kind: RunnerKind
  run(request: RunRequest): Promise<RunResult>
}

export type RunnerErrorCode =
  | 'unavailable'
  | 'host-key-mismatch'
  /** No known_hosts entry to check the SSH host against (and insecure connections are off). */
  | 'host-key-unknown'
  | 'auth-failed'
  | 'upload-failed'
  | 'container-failed'
  | 'aborted'

/**
 * The sandbox itself failed (Docker down, SSH host unreachable or untrusted): not a test
 * failure. The message says which runner, what failed and what to do.
 */
export class RunnerError extends Error {
  constructor(
    readonly code: RunnerErrorCode,
    readonly runner: RunnerKind,
    message: string,
  ) {
    super(message)
    this.name = 'RunnerError'
  }
}
