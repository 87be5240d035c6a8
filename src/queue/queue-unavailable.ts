/**
 * The queue's database cannot be reached (down, restarting, refusing connections): nothing was
 * stored, and the same call is expected to work once the database is back. Webhook intake
 * answers 503 for it, so the sender tries again instead of taking the delivery as received.
 */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError'
  constructor(
    /** What the database said, e.g. `connect ECONNREFUSED 127.0.0.1:5432`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the job queue's database is unavailable (${reason})`, options)
  }
}

/** Socket errors of a connection that failed or was cut. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * SQLSTATEs that mean the server, not the statement, is the problem: class 08 (connection
 * exception), 53300 (too many connections), 57P01-57P03 (shut down by an administrator, crash,
 * starting up or shutting down).
 */
const SERVER_STATES = /^(08...|53300|57P0[123])$/

/** node-postgres's own messages for a connection that ended or could not be made in time. */
const DRIVER_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]

/**
 * Whether `error` says PostgreSQL could not be reached or dropped the connection (as opposed to
 * a statement that failed): the call may succeed unchanged once the server is back.
 */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.every((e: unknown) => isConnectionError(e))
  }
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_STATES.test(code))) {
    return true
  }
  return DRIVER_MESSAGES.some((m) => error.message.includes(m))
}

/** `error` as a QueueUnavailableError when it is a connection error, else unchanged. */
export function asUnavailable(error: unknown): unknown {
  if (error instanceof QueueUnavailableError || !isConnectionError(error)) return error
  const reason =
    error instanceof AggregateError ? error.errors.map(messageOf).join('; ') : messageOf(error)
  return new QueueUnavailableError(reason, { cause: error })
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.message || ((error as { code?: string }).code ?? error.name)
}
