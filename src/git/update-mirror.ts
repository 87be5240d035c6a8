import { randomUUID } from 'node:crypto'
import { access, mkdir, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Logger } from 'pino'
import { authEnv, authSecrets, gitEnv, openGit } from './git-env.js'
import { toGitError } from './git-error.js'
import type { GitAuth, GitRepo } from './types.js'

/**
 * Brings the cached copy of a repository at `mirrorDir` up to date with GitHub, cloning it the
 * first time. The caller holds the repository's lock.
 *
 * The copy is a bare clone whose fetch refspecs are only branches and tags, not `clone --mirror`
 * (`+refs/*:refs/*`): GitHub advertises `refs/pull/N/head` and `refs/pull/N/merge` for every pull
 * request ever opened, which a true mirror would download and keep for no use here.
 * `--prune` drops branches deleted on GitHub, so a deleted `devsys/…` branch is not resurrected.
 */
export async function updateMirror(
  repo: GitRepo,
  mirrorDir: string,
  auth: GitAuth | undefined,
  log: Logger,
  signal?: AbortSignal,
): Promise<'cloned' | 'fetched'> {
  const env = gitEnv(authEnv(repo.cloneUrl, auth))
  const secrets = authSecrets(auth)
  const started = Date.now()
  if (await isBareRepo(mirrorDir)) {
    try {
      await openGit(mirrorDir, env, signal).raw(['fetch', '--prune', '--verbose', 'origin'])
    } catch (error) {
      throw toGitError(error, {
        code: 'fetch-failed',
        repo: repo.fullName,
        what: `update DevSys's cached copy of ${repo.fullName} from ${repo.cloneUrl}`,
        hint:
          `Check that ${repo.fullName} still exists and that the DevSys app is still installed on it; ` +
          `the job retries. If this keeps failing, delete ${mirrorDir} and DevSys clones it afresh.`,
        secrets,
        signal,
      })
    }
    log.info({ mirror: mirrorDir, ms: Date.now() - started }, 'mirror updated')
    return 'fetched'
  }

  // Clone beside the final place and rename when complete, so a crash mid-clone never leaves a
  // half copy that a later job would take for the real one.
  await mkdir(dirname(mirrorDir), { recursive: true })
  await rm(mirrorDir, { recursive: true, force: true })
  const partial = `${mirrorDir}.partial-${randomUUID()}`
  try {
    await openGit(dirname(mirrorDir), env, signal).raw([
      'clone',
      '--bare',
      '--quiet',
      '--',
      repo.cloneUrl,
      partial,
    ])
    const git = openGit(partial, gitEnv(), signal)
    await git.raw(['config', 'remote.origin.fetch', '+refs/heads/*:refs/heads/*'])
    await git.raw(['config', '--add', 'remote.origin.fetch', '+refs/tags/*:refs/tags/*'])
    await rename(partial, mirrorDir)
  } catch (error) {
    await rm(partial, { recursive: true, force: true })
    throw toGitError(error, {
      code: 'clone-failed',
      repo: repo.fullName,
      what: `clone ${repo.fullName} from ${repo.cloneUrl}`,
      hint:
        `Check that the repository exists and that the DevSys app is installed on ${repo.fullName} ` +
        'with read and write access to contents; the job retries.',
      secrets,
      signal,
    })
  }
  log.info({ mirror: mirrorDir, ms: Date.now() - started }, 'mirror created')
  return 'cloned'
}

async function isBareRepo(dir: string): Promise<boolean> {
  try {
    await access(join(dir, 'HEAD'))
    await access(join(dir, 'objects'))
    return true
  } catch {
    return false
  }
}
