import pino, { type DestinationStream, type Logger } from 'pino'
import pinoPretty from 'pino-pretty'
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

/** LOG_FORMAT: `auto` is `pretty` on a terminal and `json` anywhere else. */
export type LogFormat = 'auto' | 'json' | 'pretty'

/**
 * DevSys's root logger at `level`, writing to `destination` (default stdout): secrets in request
 * headers censored, and every finished line passed through `redact`, so a secret in any field or
 * message (a request body Probot logs at debug, an error from git, a child logger of a library)
 * never reaches the log. Lines are JSON for log collectors, or human-readable (pino-pretty) when
 * a person reads them on a terminal; redaction happens before either.
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  format: LogFormat = 'auto',
): Logger {
  const options = {
    name: 'devsys',
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: { streamWrite: redact },
    serializers: { err: serializeError },
  }
  const terminal = isTerminal(destination ?? process.stdout)
  if (format === 'pretty' || (format === 'auto' && terminal)) {
    const pretty = pinoPretty({
      destination: destination ?? 1,
      colorize: terminal,
      sync: true,
      ignore: 'pid,hostname',
    })
    return pino(options, pretty)
  }
  return destination ? pino(options, destination) : pino(options)
}

function isTerminal(stream: object): boolean {
  return (stream as { isTTY?: unknown }).isTTY === true
}

/** Fields of an error that hold a request or webhook body. */
const BODIES = new Set(['payload', 'body', 'rawBody'])
const MAX_DEPTH = 8

/**
 * Pino's error serializer, minus request bodies. @octokit/webhooks attaches the delivery to the
 * errors it raises (`error.event`, its `payload` being the raw body when the signature does not
 * match), and Probot logs those errors whole: a forged or oversized delivery would be copied
 * into the log. The event keeps its id and name; bodies anywhere in the error are omitted.
 */
function serializeError(error: unknown): unknown {
  return scrub(pino.stdSerializers.err(error as Error), 0)
}

function scrub(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Date) return value
  if (ArrayBuffer.isView(value)) return '[binary]'
  if (depth > MAX_DEPTH) return '[too deep]'
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1))
  const copy: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if (BODIES.has(key)) copy[key] = '[omitted]'
    else if (key === 'event' && inner !== null && typeof inner === 'object') {
      const { id, name } = inner as { id?: unknown; name?: unknown }
      copy[key] = { id, name }
    } else copy[key] = scrub(inner, depth + 1)
  }
  return copy
}
