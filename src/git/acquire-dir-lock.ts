import { randomUUID } from 'node:crypto'
import { mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface DirLockOptions {
  /** A lock not refreshed for this long is taken to belong to a dead process. */
  staleMs?: number
  /** How often a waiter looks again. */
  pollMs?: number
  signal?: AbortSignal | undefined
}

/**
 * Takes a lock shared by every process that uses the same `path`: the lock is the directory
 * itself, because `mkdir` either creates it or fails, atomically, on every local file system.
 * The holder touches the directory every staleMs/3; a waiter that finds it untouched for staleMs
 * (the holder crashed) moves it aside and tries again. Two waiters that notice the same stale
 * lock in the same instant could both get it; for the git mirror this only means two fetches at
 * once, which git's own ref locks keep consistent. Resolves to the release function.
 */
export async function acquireDirLock(
  path: string,
  options: DirLockOptions = {},
): Promise<() => Promise<void>> {
  const staleMs = options.staleMs ?? 60_000
  const pollMs = options.pollMs ?? 100
  for (;;) {
    options.signal?.throwIfAborted()
    if (await tryCreate(path)) {
      // Who holds it, for an operator looking at a lock that seems stuck.
      await writeFile(join(path, 'owner'), `${hostname()} pid ${process.pid}\n`).catch(() => {})
      const heartbeat = setInterval(() => {
        const now = new Date()
        utimes(path, now, now).catch(() => {})
      }, staleMs / 3)
      heartbeat.unref()
      return async () => {
        clearInterval(heartbeat)
        await rm(path, { recursive: true, force: true })
      }
    }
    const stats = await stat(path).catch(() => undefined)
    if (stats && Date.now() - stats.mtimeMs > staleMs) {
      // Rename before removing: only one waiter's rename of this directory can succeed.
      const aside = `${path}.stale-${randomUUID()}`
      if (
        await rename(path, aside).then(
          () => true,
          () => false,
        )
      ) {
        await rm(aside, { recursive: true, force: true })
      }
      continue
    }
    await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {})
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    await mkdir(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}
