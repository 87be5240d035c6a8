import { lstat, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve, sep } from 'node:path'
import { GenerateError } from './types.js'

/**
 * Writes `content` to `path` (relative to root) without ever writing outside root: a symlinked
 * parent directory that leads out is refused, and a symlink at the path itself is replaced by a
 * plain file rather than followed. Leaves the file untouched when it already holds `content`,
 * so regenerating the same files changes nothing. Returns whether the file was written.
 */
export async function writeFileInside(
  root: string,
  path: string,
  content: string | Buffer,
): Promise<boolean> {
  const full = await resolveInside(root, path)
  await makeParentsInside(root, path)
  const stat = await lstat(full).catch(() => null)
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content
  if (stat?.isFile()) {
    const existing = await readFile(full)
    if (existing.equals(bytes)) return false
  } else if (stat !== null) {
    // A symlink or directory where a generated file belongs: replace it, never follow it.
    await rm(full, { recursive: true, force: true })
  }
  await writeFile(full, bytes)
  return true
}

/** Removes `path` (relative to root) if it exists, without following symlinks out of root. */
export async function removeFileInside(root: string, path: string): Promise<boolean> {
  const full = await resolveInside(root, path)
  const stat = await lstat(full).catch(() => null)
  if (stat === null || stat.isDirectory()) return false
  await assertRealInside(root, dirname(full), path)
  await rm(full, { force: true })
  return true
}

/** Returns root/path after checking that path is a plain relative path. */
async function resolveInside(root: string, path: string): Promise<string> {
  if (path === '' || isAbsolute(path) || path.split(/[\\/]/).includes('..')) {
    throw new Error(`refusing to write ${path}: not a plain relative path`)
  }
  return resolve(await realpath(root), path)
}

/** Creates path's parent folders one by one, checking each existing one before going into it. */
async function makeParentsInside(root: string, path: string): Promise<void> {
  const realRoot = await realpath(root)
  const parts = path.split('/').slice(0, -1)
  let dir = realRoot
  for (const part of parts) {
    dir = resolve(dir, part)
    const stat = await lstat(dir).catch(() => null)
    if (stat === null) await mkdir(dir)
    else await assertRealInside(root, dir, path)
  }
}

async function assertRealInside(root: string, dir: string, path: string): Promise<void> {
  const realRoot = await realpath(root)
  const realDir = await realpath(dir)
  if (realDir !== realRoot && !realDir.startsWith(realRoot + sep)) {
    throw new GenerateError(
      'escape',
      `Cannot write ${path}: its folder is a symlink to ${realDir}, outside the repository. Nothing was committed. Replace the symlink with a real folder in the repository and try again.`,
    )
  }
}
