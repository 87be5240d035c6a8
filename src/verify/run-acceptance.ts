import type { AcceptanceCheck } from '../manifest/types.js'
import { compileBodyPattern } from './compile-body-pattern.js'
import { guardUrl, type ReachPolicy } from './guard-url.js'
import { type SendRequest, sendPinned } from './send-pinned.js'

/** The outcome of one acceptance check against a live site. */
export interface AcceptanceCheckResult {
  /** The check's id, or `METHOD path` when the manifest gave none. */
  id: string
  method: AcceptanceCheck['method']
  path: string
  ok: boolean
  /** The last answer's status; null when no answer came (refused, timeout). */
  status: number | null
  expected: number
  /** Every reason the check failed, in words for the check run; empty when ok. */
  problems: string[]
  attempts: number
  durationMs: number
  /** The start of the last answer's body when the check failed (trimmed; for incidents). */
  excerpt?: string
}

export interface AcceptanceResult {
  ok: boolean
  baseUrl: string
  checks: AcceptanceCheckResult[]
  durationMs: number
}

export interface RunAcceptanceOptions {
  /** Extra attempts after a network error, a timeout or a 5xx answer (default 3). */
  retries?: number
  /** Pause before each retry (default 500 ms). */
  retryDelayMs?: number
  signal?: AbortSignal
  /**
   * Where checks may go (every redirect hop is checked again). There is no default: each caller
   * says which origin it serves itself, so a repository's URL never reaches DevSys's own ports.
   */
  reach: ReachPolicy
  /** Sends one request to a checked address (tests inject one; default node:http, pinned). */
  send?: SendRequest
}

/** Bodies beyond this are not read: enough for any page, bounded for a hostile one. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024
const MAX_REDIRECTS = 5

interface Attempt {
  status: number | null
  problems: string[]
  /** Worth another attempt: the failure may be the site starting or briefly overloaded. */
  transient: boolean
  excerpt?: string
}

/** How much of a failing answer's body a result keeps. */
export const EXCERPT_CHARS = 500

/**
 * Runs the manifest's acceptance checks against `baseUrl`, one after the other (a site under
 * test is small; parallel checks would only make failures harder to read).
 */
export async function runAcceptance(
  baseUrl: string,
  checks: AcceptanceCheck[],
  opts: RunAcceptanceOptions,
): Promise<AcceptanceResult> {
  const started = Date.now()
  const results: AcceptanceCheckResult[] = []
  for (const check of checks) results.push(await runCheck(baseUrl, check, opts))
  return {
    ok: results.every((r) => r.ok),
    baseUrl,
    checks: results,
    durationMs: Date.now() - started,
  }
}

async function runCheck(
  baseUrl: string,
  check: AcceptanceCheck,
  opts: RunAcceptanceOptions,
): Promise<AcceptanceCheckResult> {
  const started = Date.now()
  const retries = Math.max(0, opts.retries ?? 3)
  let attempts = 0
  let last: Attempt = { status: null, problems: ['not run'], transient: false }
  for (;;) {
    attempts++
    last = await attempt(baseUrl, check, opts)
    if (!last.transient || attempts > retries || opts.signal?.aborted === true) break
    const aborted = await sleep(opts.retryDelayMs ?? 500, opts.signal)
    if (aborted) break
  }
  return {
    id: check.id ?? `${check.method} ${check.path}`,
    method: check.method,
    path: check.path,
    ok: last.problems.length === 0,
    status: last.status,
    expected: check.status,
    problems: last.problems,
    attempts,
    durationMs: Date.now() - started,
    ...(last.excerpt === undefined || last.problems.length === 0 ? {} : { excerpt: last.excerpt }),
  }
}

async function attempt(
  baseUrl: string,
  check: AcceptanceCheck,
  opts: RunAcceptanceOptions,
): Promise<Attempt> {
  const send = opts.send ?? sendPinned
  const timeout = AbortSignal.timeout(check.timeoutMs)
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal])
  let url: URL
  try {
    url = joinUrl(baseUrl, check.path)
  } catch (error) {
    return { status: null, problems: [messageOf(error)], transient: false }
  }
  const origin = url.origin
  let redirectStatus: number | undefined
  try {
    let res: Response
    for (let hops = 0; ; hops++) {
      // Every hop is checked and connects to the address it was checked at: a same-origin
      // redirect re-resolves the name, which may now point somewhere it must not.
      const guard = await untilAborted(guardUrl(url, opts.reach), signal)
      if (!guard.ok) {
        return {
          status: redirectStatus ?? null,
          problems: [guard.reason],
          transient: guard.transient,
        }
      }
      res = await send(url, guard.pinned, {
        method: check.method,
        headers: check.headers ?? {},
        ...(check.body === undefined ? {} : { body: check.body }),
        signal,
      })
      redirectStatus = res.status
      const location = res.headers.get('location')
      const isRedirect = res.status >= 300 && res.status < 400 && location !== null
      // A check that expects the redirect itself is judged on it, not on where it leads.
      if (!isRedirect || check.status === res.status) break
      await res.body?.cancel()
      const next = new URL(location, url)
      if (next.origin !== origin) {
        return {
          status: res.status,
          problems: [`redirected to another host (${next.origin}); not followed`],
          transient: false,
        }
      }
      if (hops >= MAX_REDIRECTS) {
        return {
          status: res.status,
          problems: [`more than ${MAX_REDIRECTS} redirects`],
          transient: false,
        }
      }
      url = next
    }
    const problems: string[] = []
    if (res.status !== check.status) problems.push(`status ${res.status}, expected ${check.status}`)
    const wantsBody = (check.bodyContains?.length ?? 0) > 0 || check.bodyMatches !== undefined
    // A wrong status's body says why (an error page): read it for the excerpt too.
    const readBody = (wantsBody || res.status !== check.status) && check.method !== 'HEAD'
    const body = readBody ? await readCapped(res) : ''
    if (!readBody) await res.body?.cancel()
    for (const text of check.bodyContains ?? []) {
      if (!body.includes(text)) problems.push(`body does not contain ${JSON.stringify(text)}`)
    }
    if (check.bodyMatches !== undefined) {
      const compiled = compileBodyPattern(check.bodyMatches)
      if (!compiled.ok) {
        problems.push(`bodyMatches cannot be run: ${compiled.reason} (RE2 syntax is required)`)
      } else if (!compiled.pattern.test(body)) {
        problems.push(`body does not match /${check.bodyMatches}/`)
      }
    }
    const transient = res.status >= 500 && check.status < 500
    const excerpt = body.trim().slice(0, EXCERPT_CHARS)
    return { status: res.status, problems, transient, ...(excerpt === '' ? {} : { excerpt }) }
  } catch (error) {
    if (timeout.aborted) {
      return { status: null, problems: [`timeout after ${check.timeoutMs} ms`], transient: true }
    }
    if (opts.signal?.aborted === true) {
      return { status: null, problems: ['cancelled before an answer came'], transient: false }
    }
    return { status: null, problems: [networkProblem(error, url)], transient: true }
  }
}

/** Appends the check's path to the base URL's own path; the result must stay on its origin. */
export function joinUrl(baseUrl: string, path: string): URL {
  const base = new URL(baseUrl)
  const prefix = base.pathname.replace(/\/+$/, '')
  const url = new URL(`${base.origin}${prefix}${path.startsWith('/') ? '' : '/'}${path}`)
  if (url.origin !== base.origin) throw new Error(`path ${path} leaves ${base.origin}`)
  return url
}

async function readCapped(res: Response): Promise<string> {
  const reader = res.body?.getReader()
  if (reader === undefined) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
    if (size >= MAX_BODY_BYTES) {
      await reader.cancel()
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8')
}

function networkProblem(error: unknown, url: URL): string {
  // node:http puts the code on the error itself; fetch puts it on the cause.
  const cause =
    error instanceof Error && error.cause !== undefined
      ? (error.cause as { code?: unknown } | undefined)
      : (error as { code?: unknown } | undefined)
  const code = typeof cause?.code === 'string' ? cause.code : undefined
  if (code === 'ECONNREFUSED') return `connection refused by ${url.host}`
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `connection reset by ${url.host}`
  if (code === 'ENOTFOUND') return `host ${url.hostname} not found`
  const detail = cause instanceof Error ? cause.message : messageOf(error)
  return `request failed: ${code === undefined ? detail : `${code} ${detail}`}`
}

/** `work`, or a rejection as soon as `signal` aborts (a DNS lookup cannot be cancelled itself). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Resolves true when aborted before the delay ended. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(true)
  return new Promise((done) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      done(false)
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      done(true)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The acceptance result as markdown, for the `DevSys / acceptance` check run's summary. */
export function formatAcceptanceSummary(result: AcceptanceResult): string {
  const passed = result.checks.filter((c) => c.ok).length
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
  const lines = [
    `**${passed} of ${result.checks.length} acceptance checks passed** against ${result.baseUrl} ` +
      `in ${result.durationMs} ms.`,
    '',
    '| | Check | Request | Status | Attempts | Time |',
    '|---|---|---|---|---|---|',
    ...result.checks.map(
      (c) =>
        `| ${c.ok ? '✅' : '❌'} | ${cell(c.id)} | \`${cell(`${c.method} ${c.path}`)}\` | ` +
        `${c.status ?? '—'} (expected ${c.expected}) | ${c.attempts} | ${c.durationMs} ms |`,
    ),
  ]
  const failed = result.checks.filter((c) => !c.ok)
  if (failed.length > 0) {
    lines.push('', '**Problems**', '')
    for (const c of failed) {
      lines.push(`- **${cell(c.id)}** (\`${c.method} ${c.path}\`): ${c.problems.join('; ')}`)
    }
  }
  return `${lines.join('\n')}\n`
}
