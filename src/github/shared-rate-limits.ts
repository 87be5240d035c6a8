import Bottleneck from 'bottleneck'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ProbotOctokit } from 'probot'
import { failoverGroup, type LimiterGroup, type RedisLink } from './failover-group.js'

type OctokitClass = typeof ProbotOctokit

/**
 * @octokit/plugin-throttling's limiter groups with the plugin's own limits, which follow GitHub's
 * advice against secondary rate limits (writes one at a time and a second apart, and so on).
 */
const GROUP_LIMITS = {
  global: { maxConcurrent: 10 },
  auth: { maxConcurrent: 1 },
  search: { maxConcurrent: 1, minTime: 2000 },
  write: { maxConcurrent: 1, minTime: 1000 },
  notifications: { maxConcurrent: 1, minTime: 3000 },
} satisfies Record<string, Bottleneck.ConstructorOptions>
type GroupName = keyof typeof GROUP_LIMITS

/** How long an idle limiter and its Redis keys live (the plugin's default). */
const GROUP_TIMEOUT_MS = 2 * 60 * 1000
/** Where the time GitHub asked a client to wait is kept, per throttle id (installation). */
const PAUSE_KEY = 'devsys:github-rate-limit:'
/** Sets the pause unless another process already set a longer one. */
const EXTEND_PAUSE = `if redis.call('pttl', KEYS[1]) < tonumber(ARGV[1]) then
  return redis.call('set', KEYS[1], '1', 'PX', ARGV[1]) end
return 0`

type RateLimitHandler = (retryAfter: number, ...rest: unknown[]) => boolean | undefined
interface ThrottleOptions {
  id?: string
  onRateLimit?: RateLimitHandler
  onSecondaryRateLimit?: RateLimitHandler
  [option: string]: unknown
}

/** GitHub rate limits shared by every DevSys process through one Redis (REDIS_URL). */
export interface SharedRateLimits {
  /** `Base` with its clients throttled through Redis while it answers, in this process when not. */
  octokit(Base: OctokitClass): OctokitClass
  /** Whether the limiter state is in Redis at this moment. */
  shared(): boolean
  close(): Promise<void>
}

/**
 * Connects to Redis for @octokit/plugin-throttling's limiters (Bottleneck clustering, as Probot's
 * `redisConfig` does, but with DevSys's own ioredis so nothing is downloaded at run time), and
 * shares the waits GitHub asks for (403/429 rate-limit answers) between processes. Redis being
 * down at start or later never stops DevSys: its clients then throttle in this process, as
 * without REDIS_URL, and a warning says so; they share again once Redis answers.
 */
export async function connectSharedRateLimits(opts: {
  url: string
  log: Logger
  /** How long start waits for Redis before going on with local throttling. */
  connectTimeoutMs?: number
  /** How long a Redis command may take before the request it serves goes on without Redis. */
  commandTimeoutMs?: number
}): Promise<SharedRateLimits> {
  const log = opts.log.child({ name: 'rate-limits' })
  const where = redisAddress(opts.url)
  const client = new Redis(opts.url, {
    // A command fails at once while Redis is down, so requests fall back instead of waiting.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // A Redis that stops answering without closing the connection fails commands, not requests.
    commandTimeout: opts.commandTimeoutMs ?? 2000,
    retryStrategy: (times) => Math.min(times * 250, 5000),
  })
  const connection = new Bottleneck.IORedisConnection({ client, Redis })
  const subscriber = (connection as unknown as { subscriber: Redis }).subscriber
  let lastError = 'no answer'
  connection.on('error', (error: Error) => {
    lastError = error.message
    log.debug({ err: error, redis: where }, 'Redis connection error')
  })

  // 1. Whether the state is in Redis now; `lost` settles when that stops, for waiting requests.
  let up = false
  let lost = deferred()
  let warned = false
  const update = (): void => {
    const now = client.status === 'ready' && subscriber.status === 'ready'
    if (now === up) return
    up = now
    if (up) {
      warned = false
      lastError = 'the connection closed'
      log.info({ redis: where }, 'GitHub rate limits are shared through Redis')
      return
    }
    lost.resolve()
    lost = deferred()
    warnDown()
  }
  const warnDown = (): void => {
    if (warned) return
    warned = true
    log.warn(
      { redis: where },
      `Redis at ${where} (REDIS_URL) does not answer (${lastError}): this process throttles its GitHub requests on its own until it does, so several DevSys processes together may exceed GitHub's rate limits; check that Redis runs and REDIS_URL is right`,
    )
  }
  for (const redis of [client, subscriber]) {
    for (const event of ['ready', 'close', 'end', 'reconnecting']) redis.on(event, update)
  }
  // A Redis that hangs keeps its connections open: drop them, so it counts as down (and
  // requests waiting in its limiters move here) until it answers a new connection.
  const failed = (error: unknown): void => {
    if (!up || !/timed out/i.test((error as Error)?.message ?? '')) return
    lastError = (error as Error).message
    for (const redis of [client, subscriber]) redis.disconnect(true)
  }
  const link: RedisLink = { up: () => up, lost: () => lost.promise, failed, log }

  // 2. One group of each kind in Redis, one in this process, and which a request uses.
  const groups = {} as Record<GroupName, LimiterGroup>
  const sharedGroups: Bottleneck.Group[] = []
  for (const [name, limits] of Object.entries(GROUP_LIMITS) as Array<[GroupName, object]>) {
    const common = { id: `octokit-${name}`, timeout: GROUP_TIMEOUT_MS, ...limits }
    const shared = new Bottleneck.Group({ ...common, connection })
    shared.on('created', (limiter: Bottleneck) => {
      limiter.on('error', (error: Error) => log.debug({ err: error }, 'Redis limiter error'))
    })
    sharedGroups.push(shared)
    groups[name] = failoverGroup(shared, new Bottleneck.Group(common), link)
  }

  // 3. At start, wait for Redis until it answers, refuses or takes too long; when it does not
  //    answer, go on (ioredis keeps reconnecting) and say so.
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    connection.ready,
    new Promise<void>((resolve) => connection.on('error', () => resolve())),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, opts.connectTimeoutMs ?? 3000)
    }),
  ])
  clearTimeout(timer)
  update()
  if (!up) warnDown()

  const pause = (id: string, seconds: number): void => {
    if (!up || !(seconds > 0)) return
    client
      .eval(EXTEND_PAUSE, 1, PAUSE_KEY + id, Math.ceil(seconds * 1000))
      .catch((error: Error) => log.debug({ err: error }, 'could not share a rate-limit wait'))
  }
  const waitForPause = async (id: string): Promise<void> => {
    if (!up) return
    const ms = await client.pttl(PAUSE_KEY + id).catch((error: unknown) => {
      failed(error)
      return 0
    })
    if (ms <= 0) return
    log.info(
      { throttle: id, waitMs: ms },
      'waiting out a GitHub rate limit that a DevSys process was told of for this installation',
    )
    await Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), lost.promise])
  }

  const wrapped = new WeakMap<RateLimitHandler, RateLimitHandler>()
  return {
    shared: () => up,
    octokit(Base) {
      // Hooks added by a plugin wrap the throttling plugin's, so the wait comes before it.
      const Waiting = Base.plugin((octokit, options) => {
        const id = throttleId(options)
        octokit.hook.before('request', () => waitForPause(id))
        return {}
      })
      return Waiting.defaults((options: Record<string, unknown>) => {
        const given = (options.throttle ?? {}) as ThrottleOptions
        const id = throttleId(options)
        const sharing = (handler: RateLimitHandler | undefined): RateLimitHandler => {
          // An installation's client is built from the app client's options: wrap Probot's
          // handler, not the app client's wrapper (which would pause the app's id).
          const original = handler === undefined ? undefined : (wrapped.get(handler) ?? handler)
          const wrapper: RateLimitHandler = (retryAfter, ...rest) => {
            pause(id, retryAfter)
            return original?.(retryAfter, ...rest)
          }
          if (original !== undefined) wrapped.set(wrapper, original)
          return wrapper
        }
        return {
          ...options,
          throttle: {
            ...given,
            ...groups,
            onRateLimit: sharing(given.onRateLimit),
            onSecondaryRateLimit: sharing(given.onSecondaryRateLimit),
          },
        }
      }) as unknown as OctokitClass
    },
    async close() {
      for (const group of sharedGroups) await group.disconnect(false)
      connection.disconnect(false)
      client.disconnect()
      subscriber.disconnect()
    },
  }
}

/** The throttle id Probot gives a client: the installation's id, or `no-id` for the app's. */
function throttleId(options: Record<string, unknown>): string {
  const id = (options.throttle as ThrottleOptions | undefined)?.id
  return typeof id === 'string' && id !== '' ? id : 'no-id'
}

/** host:port of a Redis URL, for messages: never its password. */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || '6379'}`
  } catch {
    return '(unparsable REDIS_URL)'
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
