import { lchown, lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Gives a folder tree (without following links) to
 * another owner: before a sandboxed program that must write into it runs as the sandbox user,
 * and back to DevSys's own user afterwards (git refuses a work tree owned by someone else).
 */
export async function handOver(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  await lchown(dir, owner.uid, owner.gid)
  for (const name of await readdir(dir)) {
    const child = join(dir, name)
    if ((await lstat(child)).isDirectory()) await handOver(child, owner)
    else await lchown(child, owner.uid, owner.gid)
  }
}
