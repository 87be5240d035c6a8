import { parseQueues, QUEUE_NAMES, type QueueName } from './roles.js'

/** DEVSYS_ROLE with DEVSYS_QUEUES and the deprecated DEVSYS_WORKER: the queues, or undefined. */
export function checkRole(
  values: Readonly<Record<string, string | number | undefined>>,
  given: ReadonlySet<string>,
  fail: (name: string, message: string) => void,
): QueueName[] | undefined {
  const parsed = parseQueues(String(values.DEVSYS_QUEUES ?? ''))
  const list = `list queues separated by commas, from: ${QUEUE_NAMES.join(', ')}`
  if (!parsed.ok) {
    const bad = parsed.bad.map((b) => JSON.stringify(b)).join(', ')
    fail('DEVSYS_QUEUES', `has ${bad}, which is not a queue; ${list}`)
    return undefined
  }
  if (parsed.queues.length === 0) {
    fail('DEVSYS_QUEUES', `names no queue; ${list}, or unset it for all of them`)
    return undefined
  }
  const role = values.DEVSYS_ROLE
  if (role === 'worker' && values.APP_ID === undefined) {
    fail(
      'DEVSYS_ROLE',
      'is "worker", but APP_ID is not set: every job talks to GitHub as the App; set APP_ID and PRIVATE_KEY (register the App first through a receiver\'s setup page), or set DEVSYS_ROLE=all',
    )
    return undefined
  }
  if (values.DEVSYS_WORKER === 'off' && given.has('DEVSYS_ROLE') && role !== 'receiver') {
    fail(
      'DEVSYS_WORKER',
      `is "off", which means DEVSYS_ROLE=receiver, but DEVSYS_ROLE is ${JSON.stringify(role)}; DEVSYS_WORKER is deprecated: unset it and keep DEVSYS_ROLE`,
    )
    return undefined
  }
  const receiver = role === 'receiver' || values.DEVSYS_WORKER === 'off'
  if (receiver && given.has('DEVSYS_QUEUES')) {
    fail(
      'DEVSYS_QUEUES',
      'is set, but a receiver (DEVSYS_ROLE=receiver) runs no jobs; unset DEVSYS_QUEUES, or set DEVSYS_ROLE=worker to run them',
    )
    return undefined
  }
  return parsed.queues
}
