import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { acquireDirLock } from './acquire-dir-lock.js'
import { gitEnv, openGit } from './git-env.js'
import { GitError, toGitError } from './git-error.js'
import { createKeyedMutex } from './keyed-mutex.js'
import type { GitAuth, GitRepo, Workspace } from './types.js'
import { updateMirror } from './update-mirror.js'

export interface GitWorkspacesOptions {
  /** Where the per-repository mirrors live (`<cacheDir>/<owner>/<name>.git`); kept between jobs. */
  cacheDir: string
  /** Where each job's temporary clone is made; os.tmpdir() by default. */
  tmpDir?: string
  log: Logger
}

export interface GitWorkspaces {
  /**
   * Runs `fn` in a fresh clone of `repo` with `branch` checked out (from the remote branch if it
   * exists, else from the default branch), and removes the clone afterwards, whatever happens.
   */
  withWorkspace<T>(
    repo: GitRepo,
    branch: string,
    auth: GitAuth | undefined,
    fn: (ws: Workspace) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T>
}

// owner and name as GitHub allows them; anything else could climb out of cacheDir.
const FULL_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/

/** Git workspaces: a cached mirror per repository, and a temporary clone of it per job. */
export function createGitWorkspaces(opts: GitWorkspacesOptions): GitWorkspaces {
  // One mirror update at a time per repository: in this process through the mutex (no polling),
  // and across DevSys processes sharing cacheDir through a lock directory beside the mirror.
  const mutex = createKeyedMutex()
  const tmpRoot = opts.tmpDir ?? tmpdir()
  if (/simple-git|(^|,)\*/.test(process.env.DEBUG ?? '')) {
    opts.log.warn(
      'DEBUG enables simple-git debug output, which prints the environment of git commands, ' +
        'including installation tokens; unset DEBUG outside local debugging',
    )
  }

  return {
    async withWorkspace(repo, branch, auth, fn, signal) {
      checkRepo(repo)
      await checkBranch(branch)
      const log = opts.log.child({ repo: repo.fullName, branch })
      const [owner, name] = repo.fullName.split('/') as [string, string]
      const mirrorDir = join(opts.cacheDir, owner, `${name}.git`)
      await mkdir(join(opts.cacheDir, owner), { recursive: true })
      // The clone sits alone in its own temporary folder, so anything a generator writes beside
      // it (`../x`) lands in that folder, where the command generator can see it and refuse it.
      const box = await mkdtemp(join(tmpRoot, 'devsys-ws-'))
      const dir = join(box, 'repo')
      await mkdir(dir)
      try {
        const ws = await mutex.run(
          repo.fullName,
          async () => {
            const release = await acquireDirLock(`${mirrorDir}.lock`, { signal })
            try {
              await updateMirror(repo, mirrorDir, auth, log, signal)
              // The clone is made under the lock too, so it never reads a half-updated mirror.
              return await cloneFromMirror({ repo, branch, mirrorDir, dir, log, signal })
            } finally {
              await release()
            }
          },
          signal,
        )
        log.info({ baseSha: ws.baseSha, branchExisted: ws.branchExisted }, 'workspace ready')
        return await fn(ws)
      } catch (error) {
        if (error instanceof GitError || !signal?.aborted) throw error
        throw toGitError(error, {
          code: 'aborted',
          repo: repo.fullName,
          what: `prepare branch ${branch} of ${repo.fullName}`,
          hint: '',
          secrets: auth ? [auth.token] : [],
          signal,
        })
      } finally {
        await rm(box, { recursive: true, force: true, maxRetries: 3 })
        log.debug({ dir: box }, 'workspace removed')
      }
    },
  }
}

interface CloneInput {
  repo: GitRepo
  branch: string
  mirrorDir: string
  dir: string
  log: Logger
  signal: AbortSignal | undefined
}

async function cloneFromMirror(input: CloneInput): Promise<Workspace> {
  const { repo, branch, mirrorDir, dir, signal } = input
  const git = openGit(dir, gitEnv(), signal)
  try {
    // A local clone hard-links the mirror's objects: fast, and independent of later gc there.
    // Commands here are not --quiet on purpose: simple-git waits 50 ms more for a git command
    // that prints nothing (bench/generate measured 7 such waits per run).
    await git.raw(['clone', '--no-checkout', '--', mirrorDir, dir])
    // Pushes must go to GitHub, never to the shared mirror.
    await git.raw(['remote', 'set-url', 'origin', repo.cloneUrl])
    const tips = await remoteTips(git, [branch, repo.defaultBranch])
    const branchTip = tips.get(branch)
    const startSha = branchTip ?? tips.get(repo.defaultBranch)
    if (startSha === undefined) {
      throw new GitError(
        'clone-failed',
        repo.fullName,
        `Could not start branch ${branch}: ${repo.fullName} has no branch ${repo.defaultBranch} ` +
          '(its default branch). Push a first commit to it, then run DevSys again.',
      )
    }
    await git.raw(['checkout', '--no-track', '-B', branch, startSha])
    const ws: Workspace = {
      dir,
      branch,
      baseSha: startSha,
      branchExisted: branchTip !== undefined,
      git,
      repo,
      log: input.log,
    }
    if (signal) ws.signal = signal
    return ws
  } catch (error) {
    throw toGitError(error, {
      code: 'clone-failed',
      repo: repo.fullName,
      what: `check out branch ${branch} of ${repo.fullName} from DevSys's cached copy`,
      hint: `If this keeps failing, delete ${mirrorDir} and DevSys clones it afresh.`,
      secrets: [],
      signal,
    })
  }
}

/** The commits `origin/<branch>` points at in the clone, for the branches that exist. */
async function remoteTips(git: Workspace['git'], branches: string[]): Promise<Map<string, string>> {
  const prefix = 'refs/remotes/origin/'
  const refs = branches.map((b) => `${prefix}${b}`)
  const out = await git.raw(['for-each-ref', '--format=%(objectname) %(refname)', ...refs])
  const tips = new Map<string, string>()
  for (const line of out.split('\n')) {
    const [sha, name] = line.split(' ')
    if (sha && name && refs.includes(name)) tips.set(name.slice(prefix.length), sha)
  }
  return tips
}

function checkRepo(repo: GitRepo): void {
  if (!FULL_NAME.test(repo.fullName) || repo.fullName.split('/').some((p) => /^\.+$/.test(p))) {
    throw new Error(
      `Not a repository name of the form owner/name: ${JSON.stringify(repo.fullName)}`,
    )
  }
  // Credentials in the URL would be stored in .git/config; tokens travel as GitAuth only.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(repo.cloneUrl)) {
    throw new Error(
      `The clone URL of ${repo.fullName} holds credentials; pass the URL without them and the token as GitAuth`,
    )
  }
}

/** Branch names come from task ids; git's own rules decide, and none may look like an option. */
async function checkBranch(branch: string): Promise<void> {
  const valid =
    !branch.startsWith('-') &&
    (await openGit(tmpdir(), gitEnv())
      .raw(['check-ref-format', '--branch', branch])
      .then(
        () => true,
        () => false,
      ))
  if (!valid) throw new Error(`Not a valid git branch name: ${JSON.stringify(branch)}`)
}
