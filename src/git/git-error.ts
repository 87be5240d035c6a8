import { GitPluginError } from 'simple-git'
import { redact } from '../secrets/redact.js'

export type GitErrorCode =
  | 'clone-failed'
  | 'fetch-failed'
  | 'push-rejected'
  | 'push-failed'
  | 'commit-failed'
  | 'aborted'

/**
 * A failed git operation, with a message fit to show a user: what failed, for which repository,
 * and what to do. It never carries the original error as `cause`, because git's own output may
 * hold secrets; the useful part of that output is in the message, scrubbed.
 */
export class GitError extends Error {
  override readonly name = 'GitError'
  readonly code: GitErrorCode
  /** 'owner/name' of the repository the operation was for. */
  readonly repo: string

  constructor(code: GitErrorCode, repo: string, message: string) {
    super(message)
    this.code = code
    this.repo = repo
  }
}

/** Removes the given literal secrets, HTTP auth header values and anything token-shaped. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]')
  }
  return redact(out).replace(/(authorization:\s*(?:basic|bearer)\s+)\S+/gi, '$1[redacted]')
}

export function isAbortError(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return true
  if (error instanceof GitPluginError && error.plugin === 'abort') return true
  return error instanceof Error && error.name === 'AbortError'
}

interface Failure {
  code: GitErrorCode
  repo: string
  /** What DevSys was doing, as a phrase: "clone o/r from https://…". */
  what: string
  /** What the user (or operator) can do about it. */
  hint: string
  secrets: readonly string[]
  signal?: AbortSignal | undefined
}

/** Wraps whatever git threw into a GitError; GitErrors pass through unchanged. */
export function toGitError(error: unknown, failure: Failure): GitError {
  if (error instanceof GitError) return error
  if (isAbortError(error, failure.signal)) {
    return new GitError(
      'aborted',
      failure.repo,
      `Stopped before finishing: ${failure.what}, because the job was cancelled or ran out of time. ` +
        'Nothing was pushed by this step; the job can be run again.',
    )
  }
  const raw = error instanceof Error ? error.message : String(error)
  // git prints progress and hints over many lines; keep the lines that say what went wrong.
  const detail = raw
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('hint:'))
    .join(' ')
    .slice(0, 600)
  const message = `Could not ${failure.what}: ${detail || 'git failed without saying why'}. ${failure.hint}`
  return new GitError(failure.code, failure.repo, scrubSecrets(message, failure.secrets))
}
