import { lstat, readlink, realpath } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { simpleGit } from 'simple-git'
import { GenerateError } from './types.js'

export interface CheckChangesOptions {
  /** Path prefixes (relative to the workspace) a generator must not touch, e.g. `.github/`. */
  forbiddenPaths: readonly string[]
  /** Largest total size, in bytes, of the added and changed files. */
  maxOutputBytes: number
}

/**
 * Lists what a generator changed in the workspace's work tree and refuses changes DevSys must
 * not commit: paths or symlinks leading out of the workspace, forbidden paths, too much output.
 * Returns the changed paths (added, changed, removed), relative to the workspace, sorted.
 * On refusal the work tree is left as it is; the caller discards the workspace.
 */
export async function checkChanges(
  workspace: string,
  opts: CheckChangesOptions,
): Promise<string[]> {
  const git = simpleGit({ baseDir: workspace })
  const root = await realpath(workspace)
  // Status paths are relative to the top of the work tree, which is normally the workspace.
  const top = await realpath((await git.revparse(['--show-toplevel'])).trim())
  const raw = await git.raw(['status', '--porcelain=v1', '-z', '--untracked-files=all'])

  const paths = new Set<string>()
  for (const entry of parseStatus(raw)) {
    paths.add(toWorkspacePath(entry, top, root))
  }

  let total = 0
  for (const path of paths) {
    refuseForbidden(path, opts.forbiddenPaths)
    total += await checkOnDisk(root, path)
    if (total > opts.maxOutputBytes) {
      throw new GenerateError(
        'output-limit',
        `The generator wrote more than ${formatBytes(opts.maxOutputBytes)} of files (limit reached at ${path}). Nothing was committed. Ask for a smaller change, or remove generated build output and dependencies (e.g. vendor/, node_modules/) from what the generator writes.`,
      )
    }
  }
  return [...paths].sort()
}

/** Splits `git status --porcelain=v1 -z` output into paths; renames and copies give both. */
function parseStatus(raw: string): string[] {
  const tokens = raw.split('\0')
  const paths: string[] = []
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]
    if (token === undefined || token.length < 4) continue
    const x = token[0]
    paths.push(token.slice(3))
    // A rename or copy is followed by its source path as a separate token.
    if (x === 'R' || x === 'C') {
      const from = tokens[i + 1]
      if (from !== undefined && from !== '') paths.push(from)
      i++
    }
  }
  return paths
}

/** Maps a status path to a workspace-relative path, refusing anything that leads outside. */
function toWorkspacePath(statusPath: string, top: string, root: string): string {
  // A trailing slash marks a nested repository; it is reported (and committed) as one path.
  const trimmed = statusPath.endsWith('/') ? statusPath.slice(0, -1) : statusPath
  if (
    trimmed === '' ||
    isAbsolute(trimmed) ||
    trimmed.split('/').includes('..') ||
    trimmed.includes('\\')
  ) {
    throw escapeError(statusPath, 'is not a plain relative path')
  }
  const rel = relative(root, join(top, trimmed))
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw escapeError(statusPath, 'is outside the workspace')
  }
  return rel.split(sep).join('/')
}

function refuseForbidden(path: string, forbidden: readonly string[]): void {
  for (const prefix of forbidden) {
    // `.github/` also matches the directory entry `.github` itself.
    const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
    if (path.startsWith(prefix) || path === bare) {
      throw new GenerateError(
        'forbidden-path',
        `The generator changed ${path}, which is under the forbidden path ${prefix} (generator.forbiddenPaths in .github/devsys.yml). Nothing was committed. Change that file by hand in a separate pull request, or remove the prefix from forbiddenPaths if generated changes there are intended.`,
      )
    }
  }
}

/**
 * Checks one changed path on disk and returns the bytes it adds: symlinks must point inside the
 * workspace by a relative target, and the real path of every file must be inside it too (a write
 * through a symlinked directory lands elsewhere). Removed paths add nothing.
 */
async function checkOnDisk(root: string, path: string): Promise<number> {
  const full = resolve(root, path)
  const stat = await lstat(full).catch(() => null)
  if (stat === null) return 0
  if (stat.isSymbolicLink()) {
    const target = await readlink(full)
    if (isAbsolute(target)) throw escapeError(path, `is a symlink to the absolute path ${target}`)
    if (!isInside(root, resolve(dirname(full), target))) {
      throw escapeError(path, `is a symlink to ${target}, which is outside the workspace`)
    }
  }
  const real = await realpath(full).catch(() => null)
  // A dangling symlink with a relative, inside target was accepted above; nothing to measure.
  if (real === null) return stat.size
  if (!isInside(root, real)) throw escapeError(path, `resolves to ${real}, outside the workspace`)
  return stat.isSymbolicLink() ? stat.size : (await lstat(real)).size
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep)
}

function escapeError(path: string, what: string): GenerateError {
  return new GenerateError(
    'escape',
    `The generator's change ${path} ${what}. Generated code must stay inside the repository: nothing was committed. Ask for the change without links or paths that lead out of the repository.`,
  )
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`
  return `${bytes} bytes`
}
