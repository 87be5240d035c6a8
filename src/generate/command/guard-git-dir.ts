import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { simpleGit } from 'simple-git'
import { GenerateError } from '../types.js'

/** What a generator may not change in `.git`, taken before it runs. */
export interface GitDirSnapshot {
  gitDir: string
  head: string
  branch: string
  /** Contents of the files that decide what git runs: config, hooks, attributes. */
  files: Map<string, string>
}

/** Files whose change could make a later git command (DevSys's commit) run the agent's code. */
async function readGuarded(gitDir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  const read = async (rel: string): Promise<void> => {
    files.set(rel, await readFile(join(gitDir, rel), 'latin1').catch(() => '(missing)'))
  }
  await read('config')
  await read('info/attributes')
  const hooks = await readdir(join(gitDir, 'hooks')).catch(() => [])
  for (const hook of hooks.sort()) await read(`hooks/${hook}`)
  return files
}

/** Records HEAD, the branch and the guarded `.git` files before a generator runs. */
export async function snapshotGitDir(workspace: string): Promise<GitDirSnapshot> {
  const git = simpleGit({ baseDir: workspace })
  const gitDir = (await git.revparse(['--absolute-git-dir'])).trim()
  const head = (await git.revparse(['HEAD'])).trim()
  const branch = (await git.raw(['symbolic-ref', '-q', 'HEAD']).catch(() => '')).trim()
  return { gitDir, head, branch, files: await readGuarded(gitDir) }
}

/**
 * Refuses a run that changed git's configuration, hooks or attributes, or switched branches.
 * Commits the agent made on the branch are undone with a soft reset, so its work is left as
 * staged changes that the usual checks see and DevSys commits itself.
 */
export async function restoreGitDir(workspace: string, before: GitDirSnapshot): Promise<void> {
  const after = await readGuarded(before.gitDir)
  const keys = new Set([...before.files.keys(), ...after.keys()])
  for (const key of [...keys].sort()) {
    if (before.files.get(key) !== after.get(key)) {
      throw new GenerateError(
        'escape',
        `The generator changed .git/${key}. A generator may change only files in the work tree, never git's configuration or hooks: nothing was committed. Ask for the change without git commands that configure the repository.`,
      )
    }
  }
  const git = simpleGit({ baseDir: workspace })
  const branch = (await git.raw(['symbolic-ref', '-q', 'HEAD']).catch(() => '')).trim()
  if (branch !== before.branch) {
    throw new GenerateError(
      'escape',
      `The generator switched the work tree from ${before.branch || 'a detached HEAD'} to ${branch || 'a detached HEAD'}. Nothing was committed. Generators must leave their changes on the task's branch, uncommitted.`,
    )
  }
  const head = (await git.revparse(['HEAD'])).trim()
  if (head !== before.head) await git.raw(['reset', '--soft', before.head])
}
