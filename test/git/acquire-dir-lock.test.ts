import { mkdir, readdir, readFile, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { acquireDirLock } from '../../src/git/acquire-dir-lock.js'
import { makeSandbox } from './support.js'

let box: Awaited<ReturnType<typeof makeSandbox>>
beforeEach(async () => {
  box = await makeSandbox()
})
afterEach(() => box.remove())

describe('acquireDirLock', () => {
  it('lets one holder in at a time and removes the lock on release', async () => {
    const path = join(box.root, 'repo.git.lock')
    const release = await acquireDirLock(path, { pollMs: 5 })
    expect(await readFile(join(path, 'owner'), 'utf8')).toContain(`pid ${process.pid}`)
    let second = false
    const waiting = acquireDirLock(path, { pollMs: 5 }).then((r) => {
      second = true
      return r
    })
    await sleep(50)
    expect(second).toBe(false)
    await release()
    const releaseSecond = await waiting
    expect(second).toBe(true)
    await releaseSecond()
    expect(await readdir(box.root)).not.toContain('repo.git.lock')
  })

  it('takes over a lock whose holder stopped refreshing it (crashed process)', async () => {
    const path = join(box.root, 'repo.git.lock')
    await mkdir(path)
    const old = new Date(Date.now() - 10_000)
    await utimes(path, old, old)
    const release = await acquireDirLock(path, { staleMs: 1_000, pollMs: 5 })
    expect((await stat(path)).mtimeMs).toBeGreaterThan(old.getTime())
    await release()
    expect(await readdir(box.root)).toEqual(['tmp'])
  })

  it('keeps a held lock fresh so that waiters do not take it over', async () => {
    const path = join(box.root, 'repo.git.lock')
    const release = await acquireDirLock(path, { staleMs: 400, pollMs: 5 })
    let taken = false
    const waiting = acquireDirLock(path, { staleMs: 400, pollMs: 5 }).then((r) => {
      taken = true
      return r
    })
    await sleep(1_500)
    expect(taken).toBe(false)
    await release()
    await (await waiting)()
  })

  it('stops waiting when aborted', async () => {
    const path = join(box.root, 'repo.git.lock')
    const release = await acquireDirLock(path)
    await expect(acquireDirLock(path, { signal: AbortSignal.timeout(50) })).rejects.toThrow()
    await release()
  })
})
