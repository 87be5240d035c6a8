import type { JobHandler } from '../queue/types.js'
import type { Metrics } from './metrics.js'

/** The same job handlers, each attempt timed and counted in `metrics` by kind and result. */
export function instrumentHandlers(
  handlers: readonly JobHandler[],
  metrics: Metrics,
): JobHandler[] {
  return handlers.map((handler) => {
    const timed: JobHandler = {
      kind: handler.kind,
      async run(payload, ctx) {
        const started = process.hrtime.bigint()
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9
        try {
          const outcome = await handler.run(payload, ctx)
          metrics.jobFinished(handler.kind, outcome.status, seconds())
          return outcome
        } catch (error) {
          metrics.jobFinished(handler.kind, 'error', seconds())
          throw error
        }
      },
    }
    const { onFailed } = handler
    if (onFailed)
      timed.onFailed = (payload, error, ctx) => onFailed.call(handler, payload, error, ctx)
    return timed
  })
}
