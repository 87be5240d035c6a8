import { lstat, readdir, readlink, realpath } from 'node:fs/promises'
import { isAbsolute, join, relative, sep } from 'node:path'

/** One entry of a workspace to copy into a sandbox; `path` is relative, with forward slashes. */
export type WorkspaceEntry =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; size: number }
  | { kind: 'symlink'; path: string; target: string }

export interface WorkspaceListing {
  /** Parents before children, so creating them in order works. */
  entries: WorkspaceEntry[]
  /** Symlinks left out because they point outside the workspace, and special files. */
  skipped: string[]
}

/**
 * Lists what a runner copies into its sandbox: the work tree without `.git` (the tests run on
 * the checked-out files; history, hooks and config stay with DevSys). A symlink is kept only
 * when it is relative and stays inside the workspace, so a run cannot reach the checkout or
 * the DevSys host through one. Sockets, FIFOs and devices are skipped.
 */
export async function listWorkspace(root: string): Promise<WorkspaceListing> {
  const realRoot = await realpath(root)
  const entries: WorkspaceEntry[] = []
  const skipped: string[] = []
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort()
    for (const name of names) {
      if (rel === '' && name === '.git') continue
      const path = rel === '' ? name : `${rel}/${name}`
      const info = await lstat(join(root, path))
      if (info.isDirectory()) {
        entries.push({ kind: 'dir', path, mode: info.mode & 0o7777 })
        await walk(path)
      } else if (info.isFile()) {
        entries.push({ kind: 'file', path, mode: info.mode & 0o7777, size: info.size })
      } else if (info.isSymbolicLink()) {
        const target = await readlink(join(root, path))
        if (await staysInside(realRoot, join(root, path), target))
          entries.push({ kind: 'symlink', path, target })
        else skipped.push(path)
      } else {
        skipped.push(path)
      }
    }
  }
  await walk('')
  return { entries, skipped }
}

/**
 * Whether a relative link resolves, on disk, to something inside the workspace. Resolving the
 * real path (not just the text) also catches chains like `a/l -> ../b/..` through other links.
 * A dangling link is left out too: it could be made to point anywhere later.
 */
async function staysInside(realRoot: string, link: string, target: string): Promise<boolean> {
  if (target === '' || isAbsolute(target)) return false
  try {
    const rel = relative(realRoot, await realpath(link))
    return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)
  } catch {
    return false
  }
}
