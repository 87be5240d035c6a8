import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { createLocalTarget } from '../../src/deploy/targets/local-target.js'
import { createSshPool } from '../../src/deploy/targets/ssh-pool.js'
import type { DeployTarget } from '../../src/deploy/types.js'
import type { Sshd } from '../../test/helpers/services.js'
import { deployWithDevsys, liveRelease, settleDisk, sshTarget } from './sides.js'
import type { Site } from './site.js'

/** Rollback switches of one site size, on the ssh and the local target. */
export interface RollbackSample {
  files: number
  bytes: number
  /** The two ssh deploys that set it up (full, then one file changed), ms. */
  sshDeployMs: { full: number; oneFile: number }
  /** `activate(previous)` on a connected ssh target, each switch, ms. */
  sshSwitchMs: number[]
  /**
   * A new ssh target on the kept connection, `activate(previous)`, `close()`: a `/rollback` to
   * a host DevSys talked to recently (its target factory keeps connections), ms.
   */
  sshKeptMs: number[]
  /** A new ssh target on a new connection, `activate(previous)`, `close()`: no kept one, ms. */
  sshColdMs: number[]
  /** `activate(previous)` on the local target, each switch, ms. */
  localSwitchMs: number[]
}

/**
 * Deploys `a` then `b` (one file changed) to a fresh ssh deploy folder and a fresh local one,
 * then switches `current` back and forth `switches` times on each (after one unmeasured
 * switch, and a `sync` so that the deploys' writeback is not counted), checking after every
 * switch that `current` points where it should.
 */
export async function measureRollback(opts: {
  sshd: Sshd
  a: Site
  b: Site
  remote: string
  switches: number
  coldSwitches: number
  log: Logger
}): Promise<RollbackSample> {
  const { sshd, a, b, log } = opts
  const sshRoot = path.join(opts.remote, 'ssh')
  const localRoot = path.join(opts.remote, 'local')
  await mkdir(localRoot, { recursive: true })

  // 1. Two releases over ssh, b live.
  const pool = createSshPool()
  const full = await deployWithDevsys(sshd, sshRoot, a, log, pool)
  const oneFile = await deployWithDevsys(sshd, sshRoot, b, log, pool)
  const ssh = sshTarget(sshd, sshRoot, log, pool)
  let sshSwitchMs: number[]
  try {
    sshSwitchMs = await switchBackAndForth(ssh, sshRoot, [a.id, b.id], opts.switches)
  } finally {
    await ssh.close()
  }

  // 2. A rollback as a user's command makes it: a new target, on the kept connection, then on
  //    a new connection each time.
  await settleDisk()
  const sshKeptMs = await newTargetSwitches(opts, sshRoot, [a.id, b.id], () =>
    sshTarget(sshd, sshRoot, log, pool),
  )
  await pool.close()
  const sshColdMs = await newTargetSwitches(opts, sshRoot, [a.id, b.id], () =>
    sshTarget(sshd, sshRoot, log),
  )

  // 3. The same two releases on the local target.
  const local = createLocalTarget({ root: localRoot })
  const signal = AbortSignal.timeout(300_000)
  for (const site of [a, b]) {
    await local.upload({ id: site.id, dir: site.dir }, { signal, log })
    await local.activate(site.id)
  }
  const localSwitchMs = await switchBackAndForth(local, localRoot, [a.id, b.id], opts.switches)
  await local.close()

  return {
    files: a.files,
    bytes: a.bytes,
    sshDeployMs: { full: full.ms, oneFile: oneFile.ms },
    sshSwitchMs,
    sshKeptMs,
    sshColdMs,
    localSwitchMs,
  }
}

/** Times `coldSwitches` rollbacks, each by a new target from `make`: activate, close. */
async function newTargetSwitches(
  opts: { coldSwitches: number },
  root: string,
  [previous, latest]: [string, string],
  make: () => DeployTarget,
): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < opts.coldSwitches; i++) {
    const id = i % 2 === 0 ? previous : latest
    const started = performance.now()
    const target = make()
    try {
      await target.activate(id)
      await target.close()
      times.push(performance.now() - started)
    } finally {
      await target.close()
    }
    await expectLive(root, id)
  }
  return times
}

/** Times `activate` alternating between two releases (the older first: a rollback). */
export async function switchBackAndForth(
  target: DeployTarget,
  root: string,
  [previous, latest]: [string, string],
  switches: number,
): Promise<number[]> {
  await settleDisk()
  const times: number[] = []
  for (let i = -1; i < switches; i++) {
    const id = i % 2 === 0 || i === -1 ? previous : latest
    const started = performance.now()
    await target.activate(id)
    const ms = performance.now() - started
    await expectLive(root, id)
    if (i >= 0) times.push(ms)
    // After the unmeasured first switch, go back to `latest` so measured switch 0 is a rollback.
    if (i === -1) await target.activate(latest)
  }
  return times
}

export async function expectLive(root: string, id: string): Promise<void> {
  const live = await liveRelease(root)
  if (live !== id) throw new Error(`${root}/current points at ${live} after activating ${id}`)
}
