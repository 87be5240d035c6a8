import type { DeployLockHolder, Store } from '../store/store.js'

export type DeployLockStore = Pick<
  Store,
  'acquireDeployLock' | 'renewDeployLock' | 'releaseDeployLock'
>

export type WithDeployLockResult<T> =
  | { kind: 'done'; value: T }
  /** Another deploy holds the environment: fn did not run. */
  | { kind: 'locked'; holder: DeployLockHolder }

export interface WithDeployLockOptions {
  /** How long the lock outlives a process that died holding it (default 10 minutes). */
  ttlMs?: number
  /** How often the lock is extended while fn runs (default a third of ttlMs). */
  renewEveryMs?: number
  /** Cancels fn (through the signal it is given); the lock is still released. */
  signal?: AbortSignal
}

/** The reason fn's signal is aborted with when the lock was lost (expired and taken over). */
export class DeployLockLostError extends Error {
  constructor(env: string, owner: string) {
    super(`the deploy lock of ${env} held by ${owner} expired and was lost; stopping this deploy`)
    this.name = 'DeployLockLostError'
  }
}

/**
 * Runs fn while holding `env`'s deploy lock: the lock is renewed while fn runs and released
 * however fn ends (value, throw, abort). When another deploy holds it, fn does not run and the
 * holder is returned, so the caller can tell the user who is deploying.
 */
export async function withDeployLock<T>(
  store: DeployLockStore,
  env: string,
  owner: string,
  reason: string,
  fn: (signal: AbortSignal) => Promise<T>,
  opts: WithDeployLockOptions = {},
): Promise<WithDeployLockResult<T>> {
  const ttlMs = opts.ttlMs ?? 10 * 60_000
  opts.signal?.throwIfAborted()
  const taken = await store.acquireDeployLock(env, owner, reason, ttlMs)
  if (!taken.acquired) return { kind: 'locked', holder: taken.holder }
  const lost = new AbortController()
  const signal =
    opts.signal === undefined ? lost.signal : AbortSignal.any([lost.signal, opts.signal])
  const timer = setInterval(
    () => {
      store.renewDeployLock(env, owner, ttlMs).then(
        (held) => {
          if (!held) lost.abort(new DeployLockLostError(env, owner))
        },
        // A store hiccup is retried at the next tick; the ttl covers several ticks.
        () => undefined,
      )
    },
    Math.max(10, opts.renewEveryMs ?? Math.floor(ttlMs / 3)),
  )
  // A renewal timer must never keep a shutting-down process alive.
  timer.unref()
  try {
    return { kind: 'done', value: await fn(signal) }
  } finally {
    clearInterval(timer)
    // Best effort: if the store is down, the lock's expiry frees the environment instead.
    await store.releaseDeployLock(env, owner).catch(() => false)
  }
}
