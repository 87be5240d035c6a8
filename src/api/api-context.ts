import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppDeps } from '../app-deps.js'
import type { AuditTarget } from '../store/store.js'
import type { Caller } from './access.js'

/** What the API's route handlers use of DevSys. */
export type ApiDeps = Pick<AppDeps, 'store' | 'config' | 'queue' | 'log'>

/** One authenticated API request: who sent it, how to answer, and what to audit it under. */
export interface ApiContext {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  caller: Caller
  /** The caller's `X-Request-Id` when it looks like one, else a new UUID; echoed back. */
  requestId: string
  /** The address the request came from (the socket's: proxies' headers are not trusted). */
  sourceIp: string | null
  deps: ApiDeps
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The request id to log, audit and answer with. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

/** Writes the audit record of a change made through the API (or refused there). */
export async function auditApi(
  ctx: Pick<ApiContext, 'caller' | 'requestId' | 'sourceIp' | 'deps'>,
  event: {
    action: string
    subject: string
    target: Partial<AuditTarget>
    result: string
    before?: unknown
    after?: unknown
    details?: Record<string, unknown>
  },
): Promise<void> {
  await ctx.deps.store.audit({
    actor: ctx.caller.actor,
    via: 'api',
    action: event.action,
    subject: event.subject,
    target: event.target,
    before: event.before,
    after: event.after,
    requestId: ctx.requestId,
    sourceIp: ctx.sourceIp,
    result: event.result,
    details: event.details ?? {},
  })
}
