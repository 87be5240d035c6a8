import { execFile, execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Whether this process can mount a tmpfs (a real small file system, for "disk full" tests):
 * mount needs root (CAP_SYS_ADMIN). Probed once, with a 64 KiB mount.
 */
export const canMountTmpfs: boolean = (() => {
  if (process.getuid?.() !== 0) return false
  const probe = join(tmpdir(), `devsys-mount-probe-${process.pid}`)
  try {
    execFileSync('mkdir', ['-p', probe])
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe])
    return true
  } catch {
    return false
  } finally {
    execFileSync('rmdir', [probe])
  }
})()

/** Mounts a tmpfs of `size` (e.g. `1m`) on the existing folder `path`; returns the unmount. */
export async function mountTmpfs(path: string, size: string): Promise<() => Promise<void>> {
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path])
  return async () => {
    await run('umount', [path])
  }
}
