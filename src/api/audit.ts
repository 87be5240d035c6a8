import type { AuditEvent, AuditFilter } from '../store/store.js'
import { type Caller, seesEnvironment, seesRepo, unrestricted } from './access.js'
import type { ApiContext } from './api-context.js'
import { ApiError, readLimitParam, readRepoParam, sendJson } from './http.js'

const ACTION = /^[A-Za-z0-9._-]{1,100}\*?$/
/** Records a scoped listing reads per page while keeping those the token may see. */
const SCAN_PAGE = 500
const SCAN_PAGES = 20

/** Whether the caller may see a record: its repository (none: all-repository tokens only) and environment. */
function seesRecord(caller: Caller, event: AuditEvent): boolean {
  const { repo, environment } = event.target
  return seesRepo(caller, repo) && (environment === null || seesEnvironment(caller, environment))
}

/**
 * `GET /api/audit?repo=&actor=&action=&since=&before=&limit=`: audit records newest first. A
 * token limited to some repositories or environments sees only their records; `next` pages on.
 */
export async function listAuditRecords({ res, url, deps, caller }: ApiContext): Promise<void> {
  const filter = readFilter(url)
  const limit = filter.limit ?? 100
  const found: AuditEvent[] = []
  if (filter.repo !== undefined && !seesRepo(caller, filter.repo)) {
    // Another repository's records are not there for this token: an empty list, not 403.
  } else if (unrestricted(caller)) {
    found.push(...(await deps.store.queryAudit(filter)))
  } else {
    let beforeId = filter.beforeId
    for (let page = 0; page < SCAN_PAGES && found.length < limit; page++) {
      const batch = await deps.store.queryAudit({
        ...filter,
        ...(beforeId === undefined ? {} : { beforeId }),
        limit: SCAN_PAGE,
      })
      found.push(...batch.filter((e) => seesRecord(caller, e)))
      const last = batch.at(-1)
      if (batch.length < SCAN_PAGE || last === undefined) break
      beforeId = last.id
    }
  }
  const events = found.slice(0, limit)
  const last = events.at(-1)
  const next = new URL(url)
  if (last !== undefined) next.searchParams.set('before', String(last.id))
  sendJson(res, 200, {
    events,
    next: events.length === limit && last !== undefined ? `${next.pathname}${next.search}` : null,
  })
}

function readFilter(url: URL): AuditFilter {
  const q = url.searchParams
  const filter: AuditFilter = {}
  const repo = readRepoParam(url)
  if (repo !== null) filter.repo = repo
  const actor = q.get('actor')
  if (actor !== null) filter.actor = actor
  const action = q.get('action')
  if (action !== null) {
    if (!ACTION.test(action)) {
      throw new ApiError(
        400,
        'invalid_action',
        'action must be an action such as deploy or task.status, or a prefix ending in * (token.*)',
      )
    }
    filter.action = action
  }
  const since = q.get('since')
  if (since !== null) {
    const time = Date.parse(since)
    if (!Number.isFinite(time)) {
      throw new ApiError(
        400,
        'invalid_since',
        'since must be an ISO time, e.g. 2026-12-01T00:00:00Z',
      )
    }
    filter.since = new Date(time).toISOString()
  }
  const before = q.get('before')
  if (before !== null) {
    const id = Number(before)
    if (!Number.isInteger(id) || id < 1) {
      throw new ApiError(400, 'invalid_before', 'before must be a record id from a previous page')
    }
    filter.beforeId = id
  }
  const limit = readLimitParam(url)
  if (limit !== undefined) filter.limit = limit
  return filter
}
