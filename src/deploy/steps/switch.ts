import type { Logger } from 'pino'
import type { DeployTarget } from '../types.js'

/**
 * Switch: points `current` at a complete release in one atomic rename, unless `live` says it
 * is live already; with `prune`, then keeps the newest releases (best effort: the next deploy
 * tries again). A deploy, its switch back and `/rollback` all go live through here.
 */
export async function switchTo(
  target: Pick<DeployTarget, 'activate' | 'prune'>,
  releaseId: string,
  opts: {
    live?: string | null
    signal?: AbortSignal
    prune?: { keep: number; environment: string; log: Logger }
  } = {},
): Promise<void> {
  if (opts.live !== releaseId) await target.activate(releaseId, opts.signal)
  const { prune } = opts
  if (prune === undefined) return
  await target.prune(prune.keep, opts.signal).catch((error: unknown) => {
    prune.log.warn(
      { err: error, environment: prune.environment },
      'old releases were not pruned; the next deploy tries again',
    )
  })
}
