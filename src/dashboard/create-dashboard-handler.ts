import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { requestIdOf } from '../api/api-context.js'
import { sameSecret } from '../api/authorize.js'
import { ApiError, readBody } from '../api/http.js'
import type { DashboardDeps, View } from './dashboard-deps.js'
import { authorizeUrl, oauthBaseUrl, signInWithCode } from './github-sign-in.js'
import { type Html, html, layout } from './html.js'
import { createLiveUpdates, dashboardFingerprint, type LiveUpdates } from './live-updates.js'
import { environmentPage } from './pages/environment.js'
import { environmentsPage } from './pages/environments.js'
import { postReleaseLock, queuePage } from './pages/queue.js'
import { type ActionResult, confirmRollback, postRollback } from './pages/rollback.js'
import { taskPage } from './pages/task.js'
import { type Principal, tokenPrincipal } from './principal.js'
import {
  cookie,
  createSessions,
  readCookies,
  SESSION_TTL_MS,
  type Sessions,
  sessionCookieName,
} from './sessions.js'

/** No inline script or style, nothing from elsewhere, no framing, forms post only here. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
const STATE_COOKIE = 'devsys_oauth_state'
const CALLBACK = '/dashboard/oauth/callback'
const STATIC: Record<string, { type: string; file: string }> = {
  '/dashboard/static/live.js': { type: 'text/javascript; charset=utf-8', file: 'live.js' },
  '/dashboard/static/dashboard.css': { type: 'text/css; charset=utf-8', file: 'dashboard.css' },
}

export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse): Promise<boolean>
  live: LiveUpdates
}

/**
 * The dashboard at /dashboard, served by the receiver beside the manager API (a Probot
 * `addHandler`): server-rendered pages, sign-in with GitHub or an API token, and two actions
 * (roll back, release a lock), each CSRF-checked and rechecked against GitHub.
 */
export function createDashboardHandler(
  deps: DashboardDeps,
  opts: { sessions?: Sessions; liveIntervalMs?: number } = {},
): DashboardHandler {
  const sessions = opts.sessions ?? createSessions()
  const secure = deps.config.dashboardUrl.startsWith('https:')
  const sessionCookie = sessionCookieName({ secure })
  const files = new Map(
    Object.entries(STATIC).map(([path, f]) => [
      path,
      { type: f.type, body: readFileSync(new URL(`./static/${f.file}`, import.meta.url)) },
    ]),
  )
  const live = createLiveUpdates({
    fingerprint: () => dashboardFingerprint(deps),
    log: deps.log,
    ...(opts.liveIntervalMs === undefined ? {} : { intervalMs: opts.liveIntervalMs }),
  })

  const principalOf = async (req: IncomingMessage): Promise<Principal | undefined> => {
    const byToken = await tokenPrincipal(req, deps.config, deps.store)
    if (byToken !== undefined) return byToken
    const id = readCookies(req).get(sessionCookie)
    const session = id === undefined ? undefined : sessions.get(id)
    return session === undefined || id === undefined
      ? undefined
      : { kind: 'github', login: session.login, session, sessionId: id }
  }

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://devsys.invalid')
    const path = url.pathname
    if (path !== '/dashboard' && !path.startsWith('/dashboard/')) return false
    const method = req.method ?? 'GET'
    try {
      const file = files.get(path)
      if (file !== undefined) {
        res.writeHead(200, {
          'content-type': file.type,
          'cache-control': 'public, max-age=300',
          'x-content-type-options': 'nosniff',
        })
        res.end(file.body)
        return true
      }
      if (path === '/dashboard/sign-in' && method === 'GET') return send(res, 200, signInPage(deps))
      if (path === '/dashboard/sign-in/github' && method === 'GET') return startGitHub(res)
      if (path === CALLBACK && method === 'GET') return await finishGitHub(req, res, url)
      const principal = await principalOf(req)
      if (principal === undefined) {
        if (method === 'GET') return redirect(res, '/dashboard/sign-in')
        return send(res, 401, message('Sign in first', 'Sign in to the dashboard, then try again.'))
      }
      const view: View = {
        deps,
        principal,
        url,
        requestId: requestIdOf(req),
        sourceIp: req.socket.remoteAddress ?? null,
      }
      if (method === 'POST') return await post(req, res, view)
      if (method !== 'GET')
        return send(res, 405, message('Not allowed', `${method} is not used here.`))
      if (path === '/dashboard/events') {
        live.subscribe(req, res)
        return true
      }
      const page = await getPage(view)
      if (page === undefined) return sendResult(res, notFound())
      return sendResult(res, 'kind' in page ? page : { kind: 'page', status: 200, page })
    } catch (error) {
      if (error instanceof ApiError) {
        return send(res, error.status, message('Refused', error.message))
      }
      deps.log.error({ err: error, path }, 'Dashboard: request failed')
      return send(
        res,
        500,
        message('DevSys failed', 'DevSys could not show this page; see the server log.'),
      )
    }
  }

  async function getPage(view: View): Promise<Html | ActionResult | undefined> {
    switch (view.url.pathname) {
      case '/dashboard':
        return environmentsPage(view)
      case '/dashboard/env':
        return environmentPage(view)
      case '/dashboard/task':
        return taskPage(view)
      case '/dashboard/queue':
        return queuePage(view)
      case '/dashboard/rollback':
        return confirmRollback(view)
      default:
        return undefined
    }
  }

  async function post(req: IncomingMessage, res: ServerResponse, view: View): Promise<boolean> {
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      return send(
        res,
        415,
        message('Refused', 'Send the form as application/x-www-form-urlencoded.'),
      )
    }
    const form = new URLSearchParams(await readBody(req, 16 * 1024))
    const { principal } = view
    // A person's forms carry their session's synchronizer token; a script's API token is in a
    // header that another site cannot make a browser send, so it needs none.
    if (
      principal.kind === 'github' &&
      !sameSecret(form.get('csrf') ?? '', principal.session.csrf)
    ) {
      deps.log.warn(
        { login: principal.login, path: view.url.pathname },
        'Dashboard: form without a valid CSRF token refused',
      )
      return send(
        res,
        403,
        message(
          'Refused',
          'The form is out of date or did not come from the dashboard (CSRF token missing or wrong); reload the page and try again.',
        ),
      )
    }
    switch (view.url.pathname) {
      case '/dashboard/sign-out':
        if (principal.kind === 'github') sessions.delete(principal.sessionId)
        res.setHeader(
          'set-cookie',
          cookie(sessionCookie, '', { secure, path: '/', maxAgeSeconds: 0 }),
        )
        return redirect(res, '/dashboard/sign-in')
      case '/dashboard/rollback':
        return sendResult(res, await postRollback(view, form))
      case '/dashboard/locks/release':
        return sendResult(res, await postReleaseLock(view, form))
      default:
        return sendResult(res, notFound())
    }
  }

  function startGitHub(res: ServerResponse): boolean {
    const client = deps.config.oauth
    if (client === undefined) return send(res, 503, signInPage(deps))
    const state = randomBytes(24).toString('base64url')
    res.setHeader(
      'set-cookie',
      cookie(STATE_COOKIE, state, { secure, path: CALLBACK, maxAgeSeconds: 600 }),
    )
    const redirectUrl = `${deps.config.dashboardUrl}${CALLBACK}`
    return redirect(
      res,
      authorizeUrl(oauthBaseUrl(deps.config), client, { redirectUrl, state }),
      302,
    )
  }

  async function finishGitHub(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<boolean> {
    const client = deps.config.oauth
    if (client === undefined) return send(res, 503, signInPage(deps))
    const expected = readCookies(req).get(STATE_COOKIE)
    const state = url.searchParams.get('state') ?? ''
    const code = url.searchParams.get('code') ?? ''
    res.setHeader(
      'set-cookie',
      cookie(STATE_COOKIE, '', { secure, path: CALLBACK, maxAgeSeconds: 0 }),
    )
    if (expected === undefined || state === '' || !sameSecret(state, expected) || code === '') {
      deps.log.warn('Dashboard: GitHub sign-in refused: state missing or not the one DevSys sent')
      return send(
        res,
        400,
        message(
          'Sign-in refused',
          'This sign-in did not start here (its state does not match); start again from the sign-in page.',
        ),
      )
    }
    const redirectUrl = `${deps.config.dashboardUrl}${CALLBACK}`
    const signedIn = await signInWithCode(deps.config, client, { code, redirectUrl })
    if (!signedIn.ok) {
      deps.log.warn({ reason: signedIn.reason }, 'Dashboard: GitHub sign-in failed')
      return send(res, 502, message('Sign-in failed', `${signedIn.reason}; try again.`))
    }
    const { id } = sessions.create(signedIn.login)
    deps.log.info({ login: signedIn.login }, 'Dashboard: signed in with GitHub')
    res.setHeader('set-cookie', [
      cookie(STATE_COOKIE, '', { secure, path: CALLBACK, maxAgeSeconds: 0 }),
      cookie(sessionCookie, id, { secure, path: '/', maxAgeSeconds: SESSION_TTL_MS / 1000 }),
    ])
    return redirect(res, '/dashboard')
  }

  return Object.assign(handler, { live })
}

function signInPage(deps: DashboardDeps): Html {
  const github =
    deps.config.oauth === undefined
      ? html`<p class="notice">GitHub sign-in is not set up: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the GitHub App's client id and a client secret) on the DevSys server.</p>`
      : html`<p><a class="button" href="/dashboard/sign-in/github">Sign in with GitHub</a></p>`
  return layout(
    { title: 'Sign in' },
    html`${github}<p class="muted">Scripts send an API token instead: <code>Authorization: Bearer &lt;token&gt;</code>.</p>`,
  )
}

function message(title: string, text: string): Html {
  return layout(
    { title },
    html`<p class="notice bad">${text}</p><p><a href="/dashboard">Back to the dashboard</a></p>`,
  )
}

function notFound(): ActionResult {
  return {
    kind: 'page',
    status: 404,
    page: message('Not found', 'There is no such page, or you cannot see it.'),
  }
}

function sendResult(res: ServerResponse, result: ActionResult): boolean {
  return result.kind === 'redirect'
    ? redirect(res, result.location)
    : send(res, result.status, result.page)
}

function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  }
}

function send(res: ServerResponse, status: number, page: Html): boolean {
  const body = Buffer.from(page.text)
  res.writeHead(status, {
    ...securityHeaders(),
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
  })
  res.end(body)
  return true
}

function redirect(res: ServerResponse, location: string, status = 303): boolean {
  res.writeHead(status, { ...securityHeaders(), location })
  res.end()
  return true
}
