import { mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { switchTo } from '../../../src/deploy/steps/switch.js'
import { createLocalTarget } from '../../../src/deploy/targets/local-target.js'
import type { Release } from '../../../src/deploy/types.js'

const silent = pino({ level: 'silent' })
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devsys-switch-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

/** A target holding complete releases 1..n, none of them live yet. */
async function targetWith(n: number) {
  const target = createLocalTarget({ root: join(dir, 'target'), url: 'http://x' })
  const ids: string[] = []
  for (let i = 1; i <= n; i++) {
    const release: Release = { id: i.toString(16).padStart(40, 'a'), dir: join(dir, `src-${i}`) }
    await mkdir(release.dir, { recursive: true })
    await writeFile(join(release.dir, 'index.html'), `release ${i}`)
    await target.upload(release, { signal: new AbortController().signal, log: silent })
    ids.push(release.id)
  }
  return { target, ids }
}

const current = () => readlink(join(dir, 'target', 'current'))

describe('the switch step', () => {
  it('points current at the release and keeps the newest ones, never the live or previous', async () => {
    const { target, ids } = await targetWith(3)
    const [r1, r2, r3] = ids as [string, string, string]
    await switchTo(target, r1)
    await switchTo(target, r2, { live: r1 })
    await switchTo(target, r3, { live: r2, prune: { keep: 1, environment: 'prod', log: silent } })
    expect(await current()).toBe(`releases/${r3}`)
    const { releases } = await target.state()
    expect(releases).toContain(r3)
    expect(releases).not.toContain(r1)
  })

  it('leaves current alone when the release is live already', async () => {
    const { target, ids } = await targetWith(2)
    const [r1, r2] = ids as [string, string]
    await switchTo(target, r1)
    // The caller read r2 as live: switching to it again changes nothing on the target.
    await switchTo(target, r2, { live: r2 })
    expect(await current()).toBe(`releases/${r1}`)
  })

  it('goes live even when old releases cannot be pruned, and says the next deploy tries again', async () => {
    const { target, ids } = await targetWith(1)
    const lines: string[] = []
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) })
    const failing = { ...target, prune: () => Promise.reject(new Error('read-only file system')) }
    await switchTo(failing, ids[0] as string, { prune: { keep: 1, environment: 'prod', log } })
    expect(await current()).toBe(`releases/${ids[0]}`)
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      {
        environment: 'prod',
        err: { message: 'read-only file system' },
        msg: 'old releases were not pruned; the next deploy tries again',
      },
    ])
  })
})
