/** DevSys worker processes (`npm start` with DEVSYS_ROLE=worker) and the CPU time of processes. */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../webhook-intake/deliveries.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const TICKS_PER_SECOND = 100 // USER_HZ on Linux

export interface WorkerProcess {
  pid: number
  port: number
  child: ChildProcess
  /** What the process wrote to stderr (warnings and errors; LOG_LEVEL=warn). */
  stderr: () => string
  stop(): Promise<void>
}

/**
 * Starts `count` workers as `src/main.ts` (what `npm start` runs) with DEVSYS_ROLE=worker and
 * `env` (DATABASE_URL, DEVSYS_QUEUES, …), each with its own DATA_DIR and health port; resolves
 * once every one answers GET /api/health.
 */
export async function startWorkers(
  count: number,
  env: Record<string, string>,
): Promise<WorkerProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker(env)))
}

async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const port = await freePort()
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-worker-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? dataDir,
      ...env,
      DEVSYS_ROLE: 'worker',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const worker: WorkerProcess = {
    pid: child.pid ?? 0,
    port,
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      await rm(dataDir, { recursive: true, force: true })
    },
  }
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) {
      await worker.stop()
      throw new Error(`A DevSys worker exited at start (code ${child.exitCode}):\n${stderr}`)
    }
    const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return worker
    if (Date.now() > deadline) {
      await worker.stop()
      throw new Error(`A DevSys worker did not answer its health check within 60 s:\n${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** User + system CPU seconds a process has used so far (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** CPU seconds each of `pids` used between two snapshots (processes new since `before` count from 0). */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0)
  return total
}

/** A snapshot of the CPU seconds of `pids`. */
export function cpuSnapshot(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, cpuSeconds(pid)]))
}
