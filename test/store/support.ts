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

/**
 * The audit record `task.created` by alice on task:octo/blog#blog (details {revision: 1}), as
 * written before migration 11, read back after it: the task filled in as its target.
 */
export const AUDIT_RECORD_BEFORE_MIGRATION_11 = {
  id: 1,
  at: '2026-03-01T10:00:00.000Z',
  actor: 'alice',
  via: 'system',
  action: 'task.created',
  subject: 'task:octo/blog#blog',
  target: { repo: 'octo/blog', task: 'blog', environment: null, release: null },
  before: null,
  after: null,
  requestId: null,
  sourceIp: null,
  result: null,
  details: { revision: 1 },
}
