import type { NewJob } from '../queue/queue.js'

/** What a webhook asks DevSys to do: a job to store, or a reason to do nothing. */
export type Trigger = { kind: 'job'; job: NewJob } | { kind: 'ignore'; reason: string }
