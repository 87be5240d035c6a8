import { MIN_SECRET_LENGTH, secretForms } from './secret-forms.js'

/**
 * The secrets this process holds, and the one function that removes them from text.
 *
 * The set is process-wide on purpose: a secret is a property of the process (its configuration,
 * the installation tokens it minted), and every way out of it (GitHub requests, the store, log
 * lines written by DevSys, Probot or a library) must see the same set, including values learnt
 * after that writer was built. Registration is idempotent and cheap; redaction is one pass of a
 * regular expression compiled when the set changes.
 */

export const REDACTED = '[redacted]'

/** Form → time (ms since the epoch) until which it is redacted; Infinity for configuration. */
const known = new Map<string, number>()
let matcher: RegExp | undefined
let nextExpiry = Number.POSITIVE_INFINITY

/**
 * Shapes of secrets DevSys did not mint itself (a token in a test's environment, a key file
 * printed by a build): GitHub tokens, PEM private keys and credentials in URLs.
 */
const SHAPES = [
  '(?<url>https?:\\/\\/)[^/\\s:@]+:[^/\\s@]+@',
  // GitHub's tokens, and DevSys's own named API tokens (dsy_, src/api/api-tokens.ts).
  '(?<token>\\b(?:(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\\b|dsy_[A-Za-z0-9_-]{20,}))',
  '(?<key>-----BEGIN [A-Z ]*PRIVATE KEY-----[\\s\\S]*?-----END [A-Z ]*PRIVATE KEY-----)',
]

/**
 * Adds a secret (and its encodings, see secretForms) to what is redacted, until `until` (ms
 * since the epoch) if given, for values that expire such as installation tokens. Returns false
 * when the value is too short to redact safely.
 */
export function registerSecret(value: string, opts: { until?: number } = {}): boolean {
  if (value.length < MIN_SECRET_LENGTH) return false
  const until = opts.until ?? Number.POSITIVE_INFINITY
  for (const form of secretForms(value)) {
    const current = known.get(form)
    if (current !== undefined && current >= until) continue
    known.set(form, until)
    matcher = undefined
  }
  return true
}

/** Replaces every known secret, in any of its forms, and anything secret-shaped in `text`. */
export function redact(text: string): string {
  return text.replace(currentMatcher(), (match, ...args) => {
    const groups = args.at(-1) as Record<string, string | undefined>
    if (groups.url !== undefined) return `${groups.url}${REDACTED}@`
    if (groups.token !== undefined) return '[redacted token]'
    if (groups.key !== undefined) return '[redacted private key]'
    return match.length > 0 ? REDACTED : match
  })
}

/**
 * `value` with every string in it redacted: plain objects and arrays are copied, never changed
 * in place (a cycle is copied as a cycle); other objects (Dates, Buffers) are returned as they are.
 */
export function redactDeep<T>(value: T): T {
  return redactValue(value, new Map()) as T
}

function redactValue(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value === 'string') return redact(value)
  if (value === null || typeof value !== 'object') return value
  const done = copies.get(value)
  if (done !== undefined) return done
  if (Array.isArray(value)) {
    const copy: unknown[] = []
    copies.set(value, copy)
    for (const item of value) copy.push(redactValue(item, copies))
    return copy
  }
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return value
  const copy: Record<string, unknown> = {}
  copies.set(value, copy)
  for (const [key, item] of Object.entries(value)) copy[key] = redactValue(item, copies)
  return copy
}

/** Forgets every registered secret; for tests that need a clean process-wide set. */
export function forgetSecrets(): void {
  known.clear()
  matcher = undefined
}

function currentMatcher(): RegExp {
  const now = Date.now()
  if (matcher && now <= nextExpiry) return matcher
  nextExpiry = Number.POSITIVE_INFINITY
  for (const [form, until] of known) {
    if (until < now) known.delete(form)
    else nextExpiry = Math.min(nextExpiry, until)
  }
  // Longest first, so a whole key is replaced before any of its lines could be.
  const literals = [...known.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp)
  const values = literals.length > 0 ? [`(?:${literals.join('|')})`] : []
  matcher = new RegExp([...values, ...SHAPES].join('|'), 'g')
  return matcher
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}
