import type Bottleneck from 'bottleneck'
import type { Logger } from 'pino'

type Task = (...args: unknown[]) => Promise<unknown>

/** The part of a Bottleneck group @octokit/plugin-throttling uses (`state.global` and the rest). */
export interface LimiterGroup {
  key(id: string): Limiter
}
interface Limiter {
  schedule(options: Bottleneck.JobOptions, task: Task, ...args: unknown[]): Promise<unknown>
}

/** Whether Redis answers now, and a promise that settles when it stops answering. */
export interface RedisLink {
  up(): boolean
  lost(): Promise<void>
  /** Told when Redis failed a request before it was sent. */
  failed(error: unknown): void
  log: Logger
}

/**
 * A running request's slot in Redis expires after this, so a process that dies mid-request
 * frees it (the plugin's own setting when it clusters).
 */
const JOB_EXPIRATION_MS = 60 * 1000

/**
 * A limiter group that schedules in Redis (`shared`) while Redis answers and in this process
 * (`local`) otherwise. A request waiting in the shared limiter when Redis goes away moves to the
 * local one; a request already sent is never sent again, and its own result is what the caller
 * gets, even when Redis fails while Bottleneck records that it finished.
 */
export function failoverGroup(
  shared: Bottleneck.Group,
  local: Bottleneck.Group,
  redis: RedisLink,
): LimiterGroup {
  return {
    key: (id) => ({
      schedule: (options, task, ...args) =>
        redis.up()
          ? scheduleShared(limiter(shared, id), limiter(local, id), redis, options, task, args)
          : limiter(local, id).schedule(options, task, ...args),
    }),
  }
}

async function scheduleShared(
  shared: Limiter,
  local: Limiter,
  redis: RedisLink,
  options: Bottleneck.JobOptions,
  task: Task,
  args: unknown[],
): Promise<unknown> {
  let state: 'waiting' | 'sent' | 'moved' = 'waiting'
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown } | undefined
  let finished = (): void => {}
  const done = new Promise<void>((resolve) => {
    finished = resolve
  })
  const guarded: Task = async (...taskArgs) => {
    // Moved to the local limiter meanwhile: that one sends it.
    if (state === 'moved') return undefined
    state = 'sent'
    try {
      const value = await task(...taskArgs)
      outcome = { ok: true, value }
      return value
    } catch (error) {
      outcome = { ok: false, error }
      throw error
    } finally {
      finished()
    }
  }
  const jobOptions = { expiration: JOB_EXPIRATION_MS, ...options }
  const result = await Promise.race([
    shared.schedule(jobOptions, guarded, ...args).then(
      (value) => ({ kind: 'settled' as const, value }),
      (error: unknown) => ({ kind: 'failed' as const, error }),
    ),
    redis.lost().then(() => ({ kind: 'lost' as const })),
  ])
  if (result.kind === 'settled') return result.value
  if (state === 'waiting') {
    // Redis failed (or went away) before the request was sent: send it from here.
    state = 'moved'
    if (result.kind === 'failed') redis.failed(result.error)
    const reason = result.kind === 'failed' ? (result.error as Error).message : 'Redis went away'
    redis.log.debug({ reason }, 'request throttled in this process: Redis does not answer')
    return local.schedule(options, task, ...args)
  }
  await done
  if (outcome?.ok) return outcome.value
  throw outcome?.error ?? (result.kind === 'failed' ? result.error : new Error('request lost'))
}

/** Bottleneck's typings spell out each arity; the plugin passes its arguments through. */
function limiter(group: Bottleneck.Group, id: string): Limiter {
  return group.key(id) as unknown as Limiter
}
