import { randomBytes } from 'node:crypto'
import type { SFTPWrapper, Stats } from 'ssh2'

// The SFTP calls the ssh target makes on its kept connection instead of starting a shell: each
// is one round trip to the host's SFTP server, and none takes a path from anywhere but the
// target's own root, release ids (hex) and fixed names.

/** SSH_FX_NO_SUCH_FILE: the path does not exist. */
const NO_SUCH_FILE = 2

const missing = (error: unknown): boolean => (error as { code?: unknown }).code === NO_SUCH_FILE

/** A path's attributes (links followed), or null when it does not exist. */
export function statOrNull(sftp: SFTPWrapper, path: string): Promise<Stats | null> {
  return new Promise((resolve, reject) => {
    sftp.stat(path, (error, stats) => {
      if (error) missing(error) ? resolve(null) : reject(error)
      else resolve(stats)
    })
  })
}

/** Where a symlink points, or null when there is no link (or nothing) at `path`. */
export function readlinkOrNull(sftp: SFTPWrapper, path: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    sftp.readlink(path, (error, target) => {
      // OpenSSH answers a path that is not a link with a generic failure (SSH_FX_FAILURE).
      if (error)
        missing(error) || (error as { code?: unknown }).code === 4 ? resolve(null) : reject(error)
      else resolve(target)
    })
  })
}

/** A file's text, or null when it does not exist; `max` bytes at most (more is an error). */
export function readTextOrNull(
  sftp: SFTPWrapper,
  path: string,
  max: number,
): Promise<string | null> {
  return new Promise((resolve, reject) => {
    sftp.readFile(path, (error, data) => {
      if (error) missing(error) ? resolve(null) : reject(error)
      else if (data.length > max) reject(new Error(`${path} is larger than ${max} bytes`))
      else resolve(data.toString('utf8'))
    })
  })
}

function call(run: (done: (error?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())))
}

/**
 * Points the link `dir/name` at `target` atomically: a new link under a random name, then
 * OpenSSH's posix-rename over the old one (rename(2) on the host), so the link is always either
 * the old one or the new one. A failed rename removes the new link again.
 */
export async function replaceLink(
  sftp: SFTPWrapper,
  dir: string,
  name: string,
  target: string,
): Promise<void> {
  const temporary = `${dir}/.${name}-${randomBytes(6).toString('hex')}`
  await call((done) => sftp.symlink(target, temporary, done))
  try {
    await call((done) => sftp.ext_openssh_rename(temporary, `${dir}/${name}`, done))
  } catch (error) {
    await call((done) => sftp.unlink(temporary, done)).catch(() => undefined)
    throw error
  }
}
