import { lstat, readdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** The entries of the workspace's parent folder, to spot files an agent writes next to it. */
export interface OutsideSnapshot {
  parent: string
  workspaceName: string
  entries: Map<string, string>
}

/**
 * Takes a snapshot of the workspace's parent folder when the workspace is its only entry (a
 * per-job folder). A shared parent such as /tmp changes for other reasons, so it is not watched
 * (null). This catches the common escape, `../file`; it is no sandbox: only running the agent
 * as its own user or in a container keeps it from writing elsewhere.
 */
export async function snapshotOutside(workspace: string): Promise<OutsideSnapshot | null> {
  const parent = dirname(workspace)
  const workspaceName = basename(workspace)
  const entries = await listEntries(parent)
  if (entries.size !== 1 || !entries.has(workspaceName)) return null
  return { parent, workspaceName, entries }
}

/** Names in the parent folder that are new or changed since the snapshot, sorted. */
export async function findOutsideWrites(snapshot: OutsideSnapshot): Promise<string[]> {
  const now = await listEntries(snapshot.parent)
  const changed: string[] = []
  for (const [name, stamp] of now) {
    if (name === snapshot.workspaceName) continue
    if (snapshot.entries.get(name) !== stamp) changed.push(name)
  }
  return changed.sort()
}

async function listEntries(dir: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>()
  for (const name of await readdir(dir)) {
    const stat = await lstat(join(dir, name)).catch(() => null)
    if (stat !== null) entries.set(name, `${stat.ino}:${stat.size}:${stat.mtimeMs}`)
  }
  return entries
}
