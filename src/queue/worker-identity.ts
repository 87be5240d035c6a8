import { randomUUID } from 'node:crypto'
import { readFileSync, readlinkSync } from 'node:fs'
import { hostname } from 'node:os'

/**
 * Where a process lives: the machine (host name and kernel boot) and the pid namespace. Two
 * processes with the same view see the same pids, so one can tell whether the other still runs.
 */
export interface ProcessView {
  host: string
  boot: string
  pidNamespace: string
}

/** What a worker id says about the process that holds a lease. */
export interface LeaseOwner extends ProcessView {
  pid: number
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat, field 22). */
  started: string
}

// host:pid:random:proc=<boot>.<pid namespace>.<start ticks>, and the queue adds #<claim>.
// Host names cannot hold ':'; the boot id is a UUID; the rest are digits.
const OWNER = /^([^:]+):(\d+):[0-9a-f]+:proc=([0-9a-f-]+)\.(\d+)\.(\d+)(?:#\d+)?$/

/**
 * A worker id naming this process so that the next process on the same machine can tell it is
 * gone: host, pid and random as before, plus the boot, pid namespace and start time where
 * /proc has them (Linux). Without /proc it is host:pid:random and its leases simply expire.
 */
export function makeWorkerId(view = readProcessView(), started = readStartTicks('self')): string {
  const base = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  if (!view || started === undefined) return base
  return `${base}:proc=${view.boot}.${view.pidNamespace}.${started}`
}

/** Reads a lease's worker id; undefined when it does not say where its process runs. */
export function parseLeaseOwner(lock: string): LeaseOwner | undefined {
  const m = OWNER.exec(lock)
  if (!m) return undefined
  const [, host = '', pid = '', boot = '', pidNamespace = '', started = ''] = m
  return { host, pid: Number(pid), boot, pidNamespace, started }
}

/**
 * Whether the process holding a lease is certainly gone: it ran on this machine, in this boot
 * and pid namespace, and its pid now names no process or a process started at another time
 * (the pid was reused). Anything unsure (another host, another container, no /proc) is not
 * gone: that lease is left to expire, so a live worker elsewhere is never robbed of its job.
 */
export function isLeaseOwnerGone(
  lock: string,
  here: ProcessView,
  startOf: (pid: number) => string | undefined,
): boolean {
  const owner = parseLeaseOwner(lock)
  if (!owner) return false
  if (owner.host !== here.host || owner.boot !== here.boot) return false
  if (owner.pidNamespace !== here.pidNamespace) return false
  const started = startOf(owner.pid)
  return started === undefined || started !== owner.started
}

/** The check the queue uses: this process's view of the machine, read once, and live /proc. */
export function leaseOwnerProbe(): (lock: string) => boolean {
  const here = readProcessView()
  if (!here) return () => false
  return (lock) => isLeaseOwnerGone(lock, here, (pid) => readStartTicks(String(pid)))
}

/** This process's host, boot and pid namespace; undefined where /proc does not tell (not Linux). */
export function readProcessView(): ProcessView | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const ns = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1]
    if (!/^[0-9a-f-]+$/.test(boot) || ns === undefined) return undefined
    return { host: hostname(), boot, pidNamespace: ns }
  } catch {
    return undefined
  }
}

/** A process's start time in ticks since boot, or undefined when no such process exists. */
export function readStartTicks(pid: string): string | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': count from the last.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19]. A zombie still has
  // its stat file: it is dead all the same.
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined
  return fields[19]
}
