/** Which errors mean the queue's database is unreachable (a 503 to webhooks), and which are bugs. */
import { describe, expect, it } from 'vitest'
import {
  asUnavailable,
  isConnectionError,
  QueueUnavailableError,
} from '../../src/queue/queue-unavailable.js'

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

describe('isConnectionError', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
    [
      'every address of localhost refused',
      new AggregateError([
        withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED'),
        withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      ]),
    ],
    [
      'a server shut down by pg_ctl',
      withCode('terminating connection due to administrator command', '57P01'),
    ],
    ['a server starting up', withCode('the database system is starting up', '57P03')],
    ['too many connections', withCode('sorry, too many clients already', '53300')],
    ['a connection exception', withCode('connection failure', '08006')],
    ['a connection the server closed', new Error('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
  ])('%s is one', (_what, error) => {
    expect(isConnectionError(error)).toBe(true)
  })

  it.each([
    ['a unique violation', withCode('duplicate key value violates unique constraint', '23505')],
    ['a syntax error', withCode('syntax error at or near "SELEC"', '42601')],
    ['a missing privilege', withCode('permission denied for schema devsys_queue', '42501')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an error', 'ECONNREFUSED'],
  ])('%s is not', (_what, error) => {
    expect(isConnectionError(error)).toBe(false)
  })
})

describe('asUnavailable', () => {
  it('wraps a connection error, keeping what the database said and the cause', () => {
    const cause = withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')
    const error = asUnavailable(cause)
    expect(error).toBeInstanceOf(QueueUnavailableError)
    expect((error as QueueUnavailableError).reason).toBe('connect ECONNREFUSED 127.0.0.1:5432')
    expect((error as Error).message).toBe(
      "the job queue's database is unavailable (connect ECONNREFUSED 127.0.0.1:5432)",
    )
    expect((error as Error).cause).toBe(cause)
  })

  it('returns any other error unchanged', () => {
    const bug = new TypeError('a bug')
    expect(asUnavailable(bug)).toBe(bug)
  })
})
