import { spawn } from 'node:child_process'
import { hostname } from 'node:os'
import { describe, expect, it } from 'vitest'
import {
  isLeaseOwnerGone,
  leaseOwnerProbe,
  makeWorkerId,
  type ProcessView,
  parseLeaseOwner,
  readProcessView,
  readStartTicks,
} from '../../src/queue/worker-identity.js'
import { done, useQueueFixture } from './queue-fixture.js'

const view = readProcessView()
const linux = process.platform === 'linux'

/** The pid of a process that has exited and been reaped, so no process has it (for now). */
async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => proc.once('exit', resolve))
  if (proc.pid === undefined) throw new Error('no pid')
  return proc.pid
}

describe.skipIf(!linux)('lease owners on this machine (Linux /proc)', () => {
  const here = view as ProcessView
  const self = readStartTicks('self') ?? ''
  const idFor = (pid: number, started: string, v: ProcessView = here) =>
    `${v.host}:${pid}:abcd1234:proc=${v.boot}.${v.pidNamespace}.${started}#3`

  it('names this process with its host, pid, boot, pid namespace and start time', () => {
    const id = makeWorkerId()
    expect(parseLeaseOwner(`${id}#1`)).toEqual({ ...here, pid: process.pid, started: self })
    expect(here.host).toBe(hostname())
  })

  it('calls a lease gone only when its process certainly is', async () => {
    const probe = (pid: number) => readStartTicks(String(pid))
    // Alive: this very process, with its real start time.
    expect(isLeaseOwnerGone(idFor(process.pid, self), here, probe)).toBe(false)
    // The pid was reused by a process started at another time.
    expect(isLeaseOwnerGone(idFor(process.pid, `${Number(self) + 1}`), here, probe)).toBe(true)
    // No process has the pid any more.
    const gone = await deadPid()
    expect(isLeaseOwnerGone(idFor(gone, '1'), here, probe)).toBe(true)
    // Another host, another boot, another pid namespace (a container): never judged from here.
    const elsewhere = [{ host: 'other-host' }, { boot: 'f'.repeat(8) }, { pidNamespace: '1' }]
    for (const other of elsewhere) {
      expect(isLeaseOwnerGone(idFor(gone, '1', { ...here, ...other }), here, probe)).toBe(false)
    }
    // A worker id without the process part (set by hand, or from a system without /proc).
    expect(isLeaseOwnerGone(`${here.host}:${gone}:abcd1234#1`, here, probe)).toBe(false)
    expect(leaseOwnerProbe()(idFor(gone, '1'))).toBe(true)
    expect(leaseOwnerProbe()(idFor(process.pid, self))).toBe(false)
  })
})

describe.skipIf(!linux)('the queue and leases held by others', () => {
  const q = useQueueFixture()
  const here = view as ProcessView

  it('requeues at once the job of a gone process on this machine, and leaves the others to their lease', async () => {
    const store = q.jobs()
    const gone = await deadPid()
    const lease = 60_000
    const enqueue = (key: string) => store.enqueue({ kind: 'work', key, payload: { key } })
    await enqueue('dead')
    await enqueue('remote')
    await enqueue('manual')
    const deadLock = `${here.host}:${gone}:abcd1234:proc=${here.boot}.${here.pidNamespace}.1#1`
    const remoteLock = `other-host:${gone}:abcd1234:proc=${here.boot}.${here.pidNamespace}.1#1`
    const manualLock = 'worker-a#1'
    for (const lock of [deadLock, remoteLock, manualLock]) await store.claimJob(lock, lease)

    const ran: unknown[] = []
    const queue = q.makeQueue([
      {
        kind: 'work',
        async run(payload) {
          ran.push(payload)
          return done('ran')
        },
      },
    ])
    queue.start()
    // Not drain(): the two live leases keep jobs running for a minute. Wait for the dead one's
    // job, then twenty more polls to see that nothing else is taken.
    const deadline = Date.now() + 5_000
    while ((await store.listJobs({ state: 'done' })).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    await new Promise((r) => setTimeout(r, 400))

    expect(ran).toEqual([{ key: 'dead' }])
    const jobs = await store.listJobs()
    expect(jobs.map((j) => [j.key, j.state, j.attempts])).toEqual([
      ['dead', 'done', 2],
      ['remote', 'running', 1],
      ['manual', 'running', 1],
    ])
    expect(jobs[0]?.lastError).toMatch(/stopped \(crash or kill\) during attempt 1 of 5/)
    expect(jobs.slice(1).map((j) => j.lockedBy)).toEqual([remoteLock, manualLock])
  })
})
