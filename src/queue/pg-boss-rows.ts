import { createHash } from 'node:crypto'
import type { Job, JobState } from './queue.js'

/** Errors are stored for people to read; a runaway stack trace must not bloat every row. */
const MAX_ERROR_CHARS = 8000
/** Names the UUIDs of delivery-started jobs (UUID v5 of the delivery id), so they are stable. */
const DELIVERY_NAMESPACE = 'b7f6e3c2-5d1a-4f7e-9c3b-2a8d4e6f1c90'

/** A row of pg-boss's job (or archive) table, as src/queue/pg-boss-sql.ts selects it. */
export interface Row {
  id: string
  data: {
    kind: string
    payload: unknown
    deliveryId?: string | null
    lastError?: string | null
    lockedBy?: string | null
    updatedAt?: string
  }
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed'
  retry_count: number
  retry_limit: number
  start_after: Date
  started_on: Date | null
  expire_in: { toPostgres(): string } | null
  singleton_key: string
  created_on: Date
  completed_on: Date | null
  output: unknown
  locked_until?: Date | null
}

/** The pg-boss states behind each of the port's states. */
export const BOSS_STATES: Record<JobState, Row['state'][]> = {
  queued: ['created', 'retry'],
  running: ['active'],
  done: ['completed'],
  failed: ['failed', 'cancelled'],
}

const STATE: Record<Row['state'], JobState> = {
  created: 'queued',
  retry: 'queued',
  active: 'running',
  completed: 'done',
  cancelled: 'failed',
  failed: 'failed',
}

/** The port's view of a pg-boss job (see src/queue/pg-boss-sql.ts for the mapping). */
export function toJob(r: Row): Job {
  const started = r.started_on !== null
  const lockedUntil =
    r.state === 'active' && r.started_on && r.expire_in
      ? new Date(r.started_on.getTime() + intervalMs(r.expire_in)).toISOString()
      : null
  return {
    id: r.id,
    kind: r.data.kind,
    key: r.singleton_key,
    payload: r.data.payload,
    state: STATE[r.state],
    attempts: started ? r.retry_count + 1 : 0,
    maxAttempts: r.retry_limit + 1,
    runAt: r.start_after.toISOString(),
    lockedBy: r.data.lockedBy ?? null,
    lockedUntil,
    lastError: r.data.lastError ?? null,
    outcome: r.state === 'completed' ? (r.output ?? null) : null,
    deliveryId: r.data.deliveryId ?? null,
    createdAt: r.created_on.toISOString(),
    updatedAt: r.data.updatedAt ?? r.created_on.toISOString(),
  }
}

/** pg's interval value (postgres-interval) in milliseconds. */
function intervalMs(i: object): number {
  const v = i as Record<string, number | undefined>
  return (
    ((((v.days ?? 0) * 24 + (v.hours ?? 0)) * 60 + (v.minutes ?? 0)) * 60 + (v.seconds ?? 0)) *
      1000 +
    (v.milliseconds ?? 0)
  )
}

export function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
}

/** RFC 9562 UUID version 5 (SHA-1, name-based) of `name` in `namespace`. */
export function uuidV5(name: string, namespace = DELIVERY_NAMESPACE): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex')
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest()
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export function clip(error: string): string {
  return error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}…` : error
}
