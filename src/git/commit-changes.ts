import { gitEnv, openGit } from './git-env.js'
import { toGitError } from './git-error.js'
import type { CommitIdentity, Workspace } from './types.js'

export interface CommitResult {
  /** False when the working tree had no changes: no commit was made. */
  committed: boolean
  /** The new commit, or HEAD when nothing was committed. */
  sha: string
  /** Paths (relative to the repository root) added, changed or deleted by the commit. */
  files: string[]
}

/**
 * Commits everything in the workspace as `identity` (author and committer), crediting its
 * co-authors in `Co-authored-by` trailers. Makes no commit when nothing changed.
 */
export async function commitChanges(
  ws: Workspace,
  input: { message: string; identity: CommitIdentity },
): Promise<CommitResult> {
  const { identity } = input
  const failure = {
    code: 'commit-failed' as const,
    repo: ws.repo.fullName,
    what: `commit to branch ${ws.branch} of ${ws.repo.fullName}`,
    hint: 'This is a problem in DevSys or in the generated files; the job retries.',
    secrets: [],
    signal: ws.signal,
  }
  const trailers = coAuthorTrailers(identity)
  checkPerson(identity)
  // Identity through the environment, signing off and hooks skipped through flags: nothing in
  // the repository's or the machine's git config decides who the commit is by or runs code.
  const git = openGit(
    ws.dir,
    gitEnv({
      GIT_AUTHOR_NAME: identity.name,
      GIT_AUTHOR_EMAIL: identity.email,
      GIT_COMMITTER_NAME: identity.name,
      GIT_COMMITTER_EMAIL: identity.email,
    }),
    ws.signal,
    ['commit.gpgsign=false'],
  )
  try {
    // --verbose: simple-git waits 50 ms more for a git command that prints nothing.
    await git.raw(['add', '--all', '--verbose'])
    const staged = await git.raw(['diff', '--cached', '--no-renames', '--name-only', '-z'])
    const files = staged.split('\0').filter((path) => path.length > 0)
    if (files.length === 0) {
      const head = (await git.raw(['rev-parse', 'HEAD'])).trim()
      ws.log.info({ sha: head }, 'nothing to commit')
      return { committed: false, sha: head, files: [] }
    }
    // `--trailer` runs git interpret-trailers: the trailers join an existing trailer block at the
    // end of the message, or start one after a blank line, so %(trailers) finds them all.
    await git.raw([
      'commit',
      '--no-verify',
      '--cleanup=strip',
      '--message',
      input.message,
      ...trailers.flatMap((trailer) => ['--trailer', trailer]),
    ])
    const sha = (await git.raw(['rev-parse', 'HEAD'])).trim()
    ws.log.info({ sha, files: files.length }, 'committed')
    return { committed: true, sha, files }
  } catch (error) {
    throw toGitError(error, failure)
  }
}

function coAuthorTrailers(identity: CommitIdentity): string[] {
  const seen = new Set<string>([identity.email.toLowerCase()])
  const trailers: string[] = []
  for (const person of identity.coAuthors) {
    checkPerson(person)
    if (seen.has(person.email.toLowerCase())) continue
    seen.add(person.email.toLowerCase())
    trailers.push(`Co-authored-by: ${person.name} <${person.email}>`)
  }
  return trailers
}

/** A name or email with a line break or angle bracket would forge or break trailers and headers. */
function checkPerson(person: { name: string; email: string }): void {
  const name = person.name.trim()
  if (name.length === 0 || /[\r\n<>]/.test(name) || !/^[^\s<>@]+@[^\s<>@]+$/.test(person.email)) {
    throw new Error(
      `Not a usable commit identity: ${JSON.stringify(person)}; names need text without line breaks or <>, emails one @`,
    )
  }
}
