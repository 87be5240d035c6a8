import type { AcceptanceCheck } from '../types.js'

/** An acceptance check read from a scenario, before ids, descriptions and defaults are added. */
export type ScenarioCheck = Pick<AcceptanceCheck, 'method' | 'path' | 'status'> &
  Partial<Pick<AcceptanceCheck, 'bodyContains' | 'body' | 'headers'>>

/** What a Given/When/Then scenario says, as DevSys reads it. */
export type ScenarioReading =
  /** The scenario describes one HTTP request and its outcome: it becomes an acceptance check. */
  | { kind: 'check'; check: ScenarioCheck }
  /** Anything else: it goes to the agent's prompt and the PR's checklist; reason says why. */
  | { kind: 'prose'; reason: string }

/** A request path in backticks: a single leading /, printable ASCII without spaces. */
const PATH = '`(/[!-_a-~]*)`'
/** `a visitor opens `/post.php?id=1`` (the actor is any words without backticks). */
const GET_STEP = new RegExp(`^[^\`]*?\\b(?:opens|visits|requests|loads)\\s+${PATH}\\s*[.,;]?$`)
/** `a visitor submits `title=Hi&body=There` to `/new.php``. */
const POST_STEP = new RegExp(
  `^[^\`]*?\\b(?:submits|posts)\\s+\`([^\`]*)\`\\s+to\\s+${PATH}\\s*[.,;]?$`,
)
/** A form body: name=value pairs joined by &, URL-encoded. */
const FORM = /^[\w.~%+-]+=[\w.~%+-]*(?:&[\w.~%+-]+=[\w.~%+-]*)*$/
const SUBJECT = '(?:the\\s+(?:page|response|server|site|app)\\s+)?'
/** `the page answers 404`, `responds with status 201`, `returns 404 Not Found`. */
const STATUS_CLAUSE = new RegExp(
  `^${SUBJECT}(?:answers|responds|returns)(?:\\s+with)?(?:\\s+(?:HTTP\\s+)?status)?\\s+([1-5]\\d\\d)(?:\\s+[A-Z][A-Za-z-]*)*`,
)
/** `the page shows "Hello, world"` (straight or curly double quotes). */
const SHOWS_CLAUSE = new RegExp(
  `^${SUBJECT}(?:shows|contains|displays)\\s+(?:"([^"]+)"|\u201c([^\u201d]+)\u201d)`,
)
const JOINER = /^(?:\s*,\s*and\s+|\s+and\s+|\s*,\s*)/

/**
 * Reads a scenario's When and Then steps with DevSys's scenario grammar (README: "Scenario
 * grammar"). When: `<someone> opens|visits|requests|loads `/path`` (GET) or
 * `<someone> submits|posts `name=value&…` to `/path`` (POST, form-encoded). Then: clauses joined
 * by "and" or commas, each `[the page|response|…] answers|responds|returns [with] [status] NNN`
 * or `[the page|…] shows|contains|displays "text"`; without a status clause 200 is expected (201
 * or a redirect must be written). Anything else is prose, with the reason.
 */
export function readScenario(when: string, then: string): ScenarioReading {
  const request = readRequest(when.trim())
  if ('reason' in request) return { kind: 'prose', reason: request.reason }
  const outcome = readOutcome(then.trim())
  if ('reason' in outcome) return { kind: 'prose', reason: outcome.reason }
  return {
    kind: 'check',
    check: {
      ...request,
      status: outcome.status ?? 200,
      ...(outcome.texts.length === 0 ? {} : { bodyContains: outcome.texts }),
    },
  }
}

type Request = Pick<ScenarioCheck, 'method' | 'path' | 'body' | 'headers'> | { reason: string }

function readRequest(when: string): Request {
  const get = GET_STEP.exec(when)
  if (get?.[1] !== undefined) return { method: 'GET', path: get[1] }
  const post = POST_STEP.exec(when)
  if (post?.[1] !== undefined && post[2] !== undefined) {
    if (!FORM.test(post[1])) {
      return { reason: `the form \`${post[1]}\` is not name=value pairs joined by &` }
    }
    return {
      method: 'POST',
      path: post[2],
      body: post[1],
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }
  }
  return /`\/[^`]*`/.test(when)
    ? {
        reason:
          'the When step names a path but is not "<someone> opens `/path`" or "<someone> submits `a=b` to `/path`"',
      }
    : { reason: 'the When step names no request path in backticks' }
}

type Outcome = { status: number | undefined; texts: string[] } | { reason: string }

function readOutcome(then: string): Outcome {
  let rest = then.replace(/[.!]\s*$/, '')
  let status: number | undefined
  const texts: string[] = []
  while (rest !== '') {
    const statusMatch = STATUS_CLAUSE.exec(rest)
    const showsMatch = statusMatch ? null : SHOWS_CLAUSE.exec(rest)
    const match = statusMatch ?? showsMatch
    if (match === null) {
      return {
        reason: `the Then step's "${rest.slice(0, 60)}" is not "answers NNN" or "shows \\"text\\""`,
      }
    }
    if (statusMatch) {
      if (status !== undefined) return { reason: 'the Then step names two statuses' }
      status = Number(statusMatch[1])
    } else {
      texts.push((match[1] ?? match[2]) as string)
    }
    rest = rest.slice(match[0].length)
    if (rest === '') break
    const joiner = JOINER.exec(rest)
    if (joiner === null) {
      return { reason: `the Then step continues with "${rest.trim().slice(0, 60)}" after a clause` }
    }
    rest = rest.slice(joiner[0].length)
  }
  if (status === undefined && texts.length === 0) return { reason: 'the Then step is empty' }
  return { status, texts }
}
