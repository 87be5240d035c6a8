import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import type { SshPool } from '../../src/deploy/targets/ssh-pool.js'
import { RELEASE_MARKER } from '../../src/deploy/targets/release-plan.js'
import type { Sshd } from '../../test/helpers/services.js'
import type { DeployCase } from './report.js'
import { deployWithDevsys, deployWithRsync, liveRelease, settleDisk, type Timed } from './sides.js'
import { compareWithSite, type Site } from './site.js'

/** Throws unless `deployed` holds exactly the site's files (the ssh target's marker aside). */
export async function expectSite(deployed: string, site: Site, what: string): Promise<void> {
  const problem = await compareWithSite(deployed, site, [RELEASE_MARKER])
  if (problem !== null) throw new Error(`${what}: ${problem}`)
}

function expectSent(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: sent ${got} files, expected ${want}`)
}

/**
 * One round: on a fresh deploy folder per side, DevSys and rsync deploy the site, then the
 * one-file change; rsync also deploys the change from a fresh checkout onto a second copy.
 * Every deploy is checked on disk, and preceded by a `sync`. `devsysFirst` alternates between
 * rounds.
 */
export async function runRound(opts: {
  sshd: Sshd
  dir: string
  a: Site
  b: Site
  fresh: Site
  /** `a` and `b` as git checkouts, as DevSys deploys them (see gitCheckout). */
  checkouts: { a: Site; b: Site }
  devsysFirst: boolean
  log: Logger
  /** DevSys's kept connections (a worker's target factory has one). */
  pool: SshPool
}): Promise<Record<'devsys' | 'rsync', Partial<Record<DeployCase, Timed>>>> {
  const { sshd, dir, a, b, fresh, log, pool, checkouts } = opts
  const devsys = async () => {
    const root = path.join(dir, 'devsys')
    await settleDisk()
    const full = await deployWithDevsys(sshd, root, checkouts.a, log, pool)
    expectSent('DevSys full deploy', full.sent, a.files)
    await expectSite(path.join(root, 'current'), a, 'DevSys full deploy')
    await settleDisk()
    const one = await deployWithDevsys(sshd, root, checkouts.b, log, pool)
    expectSent('DevSys one-file deploy', one.sent, 1)
    if (one.upload.reused !== b.files - 1)
      throw new Error(
        `DevSys one-file deploy reused ${one.upload.reused} files, expected ${b.files - 1}`,
      )
    if ((await liveRelease(root)) !== b.id)
      throw new Error('DevSys one-file deploy: current is not the new release')
    await expectSite(path.join(root, 'current'), b, 'DevSys one-file deploy')
    return { full, 'one-file': one }
  }
  const rsync = async () => {
    const dest = path.join(dir, 'rsync')
    await settleDisk()
    const full = await deployWithRsync(sshd, a, dest)
    expectSent('rsync full copy', full.sent, a.files)
    await expectSite(dest, a, 'rsync full copy')
    await settleDisk()
    const one = await deployWithRsync(sshd, b, dest)
    expectSent('rsync one-file copy', one.sent, 1)
    await expectSite(dest, b, 'rsync one-file copy')
    // The same change from a fresh checkout, onto a second copy of the original site.
    const second = path.join(dir, 'rsync-fresh')
    await deployWithRsync(sshd, a, second)
    await settleDisk()
    const fromFresh = await deployWithRsync(sshd, fresh, second)
    await expectSite(second, b, 'rsync one-file copy from a fresh checkout')
    return { full, 'one-file': one, 'one-file-fresh': fromFresh }
  }
  await mkdir(dir, { recursive: true })
  if (opts.devsysFirst) {
    const d = await devsys()
    return { devsys: d, rsync: await rsync() }
  }
  const r = await rsync()
  return { rsync: r, devsys: await devsys() }
}
