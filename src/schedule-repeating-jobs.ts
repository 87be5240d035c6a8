import type { Logger } from 'pino'
import type { AppConfig } from './config/load-env.js'
import { MONITOR, monitorSchedule } from './jobs/monitor.js'
import { REDELIVER_FAILED, redeliverySchedule } from './jobs/redeliver-failed.js'
import type { Queue } from './queue/queue.js'

/**
 * Registers the repeating jobs this process runs (the kinds of its queues), each a while after
 * start; returns the timers, for stop() to clear.
 */
export function scheduleRepeatingJobs(
  queue: Queue,
  config: AppConfig,
  kinds: readonly string[],
  log: Logger,
): NodeJS.Timeout[] {
  const redelivery = scheduleRedelivery(queue, config, kinds, log)
  const monitoring = scheduleMonitor(queue, kinds, log)
  return [redelivery, monitoring].filter((timer) => timer !== undefined)
}

/**
 * Registers the scan for failed webhook deliveries (REDELIVERY_INTERVAL_SECONDS) on a process
 * that runs its queue, one interval after start: a whole fleet restarting brings its receivers
 * up meanwhile, and a delivery is redelivered only once, so it must not be sent to a receiver
 * that is not listening yet.
 */
function scheduleRedelivery(
  queue: Queue,
  config: AppConfig,
  kinds: readonly string[],
  log: Logger,
): NodeJS.Timeout | undefined {
  const everyMs = config.redeliveryIntervalSeconds * 1000
  if (everyMs === 0 || !kinds.includes(REDELIVER_FAILED)) return undefined
  const register = () =>
    queue
      .schedule(redeliverySchedule(everyMs))
      .catch((err: unknown) => log.error({ err }, 'Scheduling the redelivery scan failed'))
  return setTimeout(register, everyMs).unref()
}

/** How long after start the monitor's sweep is registered (see scheduleMonitor). */
export const MONITOR_START_DELAY_MS = 30_000

/**
 * Registers the monitor's sweep on a process that runs the `monitor` kind, a while after start:
 * sites of the local target are served again at start, and a fleet restarting brings its
 * receivers up, so a check at once would count a restart as the sites' downtime.
 */
function scheduleMonitor(
  queue: Queue,
  kinds: readonly string[],
  log: Logger,
): NodeJS.Timeout | undefined {
  if (!kinds.includes(MONITOR)) return undefined
  const register = () =>
    queue
      .schedule(monitorSchedule())
      .catch((err: unknown) => log.error({ err }, 'Scheduling the monitor failed'))
  return setTimeout(register, MONITOR_START_DELAY_MS).unref()
}
