import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { createLocalTarget } from '../../src/deploy/targets/local-target.js'
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
  /** A new ssh target, `activate(previous)`, `close()`: a rollback from scratch, ms. */
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
  const full = await deployWithDevsys(sshd, sshRoot, a, log)
  const oneFile = await deployWithDevsys(sshd, sshRoot, b, log)
  const ssh = sshTarget(sshd, sshRoot, log)
  let sshSwitchMs: number[]
  try {
    sshSwitchMs = await switchBackAndForth(ssh, sshRoot, [a.id, b.id], opts.switches)
  } finally {
    await ssh.close()
  }

  // 2. A rollback as a user's command makes it: a new connection each time.
  await settleDisk()
  const sshColdMs: number[] = []
  for (let i = 0; i < opts.coldSwitches; i++) {
    const id = i % 2 === 0 ? a.id : b.id
    const started = performance.now()
    const target = sshTarget(sshd, sshRoot, log)
    try {
      await target.activate(id)
      await target.close()
      sshColdMs.push(performance.now() - started)
    } finally {
      await target.close()
    }
    await expectLive(sshRoot, id)
  }

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
    sshColdMs,
    localSwitchMs,
  }
}

/** Times `activate` alternating between two releases (the older first: a rollback). */
async function switchBackAndForth(
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

async function expectLive(root: string, id: string): Promise<void> {
  const live = await liveRelease(root)
  if (live !== id) throw new Error(`${root}/current points at ${live} after activating ${id}`)
}
