import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { RequestGuard } from './guard-requests.js'

const COOKIE = 'devsys_setup'

/** Paths served in setup mode without the token: the manager API has its own, the rest is static. */
const OPEN = [/^\/api\//, /^\/ping$/, /^\/probot\/static\//, /^\/probot\/success$/]

/**
 * Lets a request reach Probot's setup pages only with the one-time setup token: from `?token=`
 * (a GET is then redirected without it, the token moved into an HttpOnly cookie so it stays out
 * of the address bar, the history and Referer headers) or from that cookie. Loopback gets no
 * exception, as a reverse proxy on the same host makes every request come from loopback. Once
 * the app is registered (import saved, or GitHub's code exchanged) the token is spent and every
 * setup page answers 410, since the new credentials are read at the next start.
 */
export function requireSetupToken(opts: { token: string; log: Logger }): RequestGuard {
  const expected = digest(opts.token)
  let spent = false
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (OPEN.some((open) => open.test(path))) return false
    if (spent) {
      return answer(res, 410, 'DevSys is registered: restart it to load the new credentials.\n')
    }
    const fromQuery = url.searchParams.get('token')
    const presented = fromQuery ?? cookieOf(req)
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      opts.log.warn({ method: req.method, path }, 'refused a setup request without the setup token')
      return answer(
        res,
        403,
        "DevSys is in setup mode: open the setup URL printed in DevSys's log at start (it ends in ?token=...).\n",
      )
    }
    if (fromQuery !== null) {
      url.searchParams.delete('token')
      const rest = `${url.pathname}${url.search}`
      const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : ''
      if (req.method === 'GET') {
        res
          .writeHead(302, {
            // Never '//host/...', which a browser reads as another site.
            location: rest.startsWith('//') ? '/probot' : rest,
            'set-cookie': `${COOKIE}=${presented}; HttpOnly; SameSite=Lax; Path=/${secure}`,
            'cache-control': 'no-store',
          })
          .end()
        return true
      }
      // Scripts may POST with ?token=; the request is logged (by Probot) without it.
      req.url = rest
    }
    if (registers(req.method, (req.url ?? '/').split('?')[0])) {
      res.once('finish', () => {
        if (res.statusCode < 400 && !spent) {
          spent = true
          opts.log.info('the setup token is spent: restart DevSys to load the new credentials')
        }
      })
    }
    return false
  }
}

/** The two requests that write the app's credentials: importing them, or GitHub's redirect. */
function registers(method: string | undefined, path: string | undefined): boolean {
  return (
    (method === 'POST' && path === '/probot/import') ||
    (method === 'GET' && path === '/probot/setup')
  )
}

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === COOKIE) return value.join('=')
  }
  return undefined
}

/** Hashing first gives timingSafeEqual equal lengths whatever was presented. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

function answer(res: ServerResponse, status: number, text: string): true {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text)
  return true
}
