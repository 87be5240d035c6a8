import { GitError } from '../git/git-error.js'
import { ReleaseFilesError } from './release-files.js'
import { DeployError } from './types.js'

/** Failures that say what is wrong with the target, the commit or its files: reported, not retried. */
export function isExpectedFailure(error: unknown): boolean {
  return (
    error instanceof DeployError || error instanceof GitError || error instanceof ReleaseFilesError
  )
}
