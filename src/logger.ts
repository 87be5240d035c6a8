import pino, { type DestinationStream, type Logger } from 'pino'
import { redact } from './secrets/redact.js'

/**
 * Request headers that carry secrets. Probot logs every HTTP request with its headers, so these
 * are censored in every log line, whoever writes it.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-token"]',
  'req.headers.cookie',
  'req.headers["x-hub-signature"]',
  'req.headers["x-hub-signature-256"]',
]

/**
 * DevSys's root logger: JSON lines at `level`, secrets in request headers censored, and every
 * finished line passed through `redact`, so a secret in any field or message (a request body
 * Probot logs at debug, an error from git, a child logger of a library) never reaches the log.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    name: 'devsys',
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: { streamWrite: redact },
  }
  return destination ? pino(options, destination) : pino(options)
}
