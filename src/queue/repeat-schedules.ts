import type { Logger } from 'pino'
import type { EnqueueOptions, EnqueueResult, NewJob, Schedule } from './queue.js'

/** Repeating schedules of one queue, fired by its poll. */
export interface RepeatSchedules {
  /** Registers (or replaces) a schedule; a delayed one is enqueued at once with its delay. */
  add(schedule: Schedule): Promise<void>
  /** Enqueues the run of every repeating schedule whose current slot has not been enqueued. */
  fire(): Promise<void>
  /** Resolves once no enqueue of a schedule is under way (for a clean stop). */
  idle(): Promise<void>
}

/**
 * Repeating jobs over the queue's own dedupe: the run of slot `n` (the `n`th `everyMs` since the
 * epoch) is enqueued with the delivery id `schedule:<name>:<n>`, so however many processes
 * register the schedule on one queue state, the slot's first enqueue wins and the others write
 * nothing. The key is the job's own, so a run never overlaps the previous one.
 */
export function repeatSchedules(deps: {
  enqueue(job: NewJob, options?: EnqueueOptions): Promise<EnqueueResult>
  now: () => number
  log: Logger
}): RepeatSchedules {
  const repeating = new Map<
    string,
    { job: Omit<NewJob, 'delayMs'>; everyMs: number; slot: number }
  >()
  let firing: Promise<void> | undefined

  const fireOnce = async () => {
    for (const [name, entry] of repeating) {
      const slot = Math.floor(deps.now() / entry.everyMs)
      if (slot <= entry.slot) continue
      entry.slot = slot
      try {
        const delivery = { id: `schedule:${name}:${slot}`, event: 'schedule' }
        const result = await deps.enqueue({ ...entry.job }, { delivery })
        deps.log.debug({ schedule: name, slot, result: result.kind }, 'Scheduled job enqueued')
      } catch (err) {
        entry.slot = slot - 1 // try this slot again at the next poll
        deps.log.error({ err, schedule: name }, 'Enqueueing a scheduled job failed')
      }
    }
  }

  return {
    async add(schedule) {
      if ('delayMs' in schedule) {
        await deps.enqueue({ ...schedule.job, delayMs: schedule.delayMs })
        return
      }
      if (!(Number.isSafeInteger(schedule.everyMs) && schedule.everyMs > 0)) {
        throw new Error(
          `Schedule "${schedule.name}": everyMs must be a positive whole number of milliseconds, not ${schedule.everyMs}`,
        )
      }
      repeating.set(schedule.name, { job: schedule.job, everyMs: schedule.everyMs, slot: -1 })
    },
    fire() {
      firing ??= fireOnce().finally(() => {
        firing = undefined
      })
      return firing
    },
    async idle() {
      await firing
    },
  }
}
