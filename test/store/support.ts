import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Logger, pino } from 'pino'
import type { EnqueueResult, Job } from '../../src/queue/queue.js'

/** A fresh temporary directory and its removal, for one real SQLite file per test. */
export function tempDir(prefix = 'devsys-store-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A logger that drops everything. */
export const silentLog: Logger = pino({ level: 'silent' })

/** A logger whose JSON lines are kept, so tests can check what was (not) logged. */
export function capturingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) })
  return { log, lines }
}

export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
}

/** A promise with its resolve function, for handlers that wait on the test. */
export function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** The job an enqueue wrote; fails the test on a duplicate delivery. */
export function jobOf(result: EnqueueResult): Job {
  if (result.kind === 'duplicate-delivery') throw new Error(`unexpected ${result.kind}`)
  return result.job
}
