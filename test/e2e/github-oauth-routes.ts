/**
 * GitHub's sign-in for the GitHub stand-in: the OAuth web flow pages that GitHub Enterprise
 * Server serves at its root (`/login/oauth/authorize`, `/login/oauth/access_token`, as
 * @octokit/oauth-methods addresses them: the API's base URL without `/api/v3`), `GET /user` for
 * the token they hand out, and people's permissions on the repository.
 */
import { randomBytes } from 'node:crypto'
import type { StandinRequest, StandinRoute } from './github-standin.js'

export interface OAuthFake {
  routes: StandinRoute[]
  /** Who the next visit to the authorize page signs in as (GitHub knows from its own cookie). */
  signInAs(login: string): void
  /** Each person's permission on every repository: `read`, `write`, `admin`. */
  permissions: Map<string, 'read' | 'write' | 'admin'>
  /** Requests for GitHub's OAuth pages, which are not in the REST description. */
  isOAuthPage(problem: string): boolean
}

/** The fake; `client` is the App's client id and secret DevSys is configured with. */
export function fakeOAuth(client: { id: string; secret: string }): OAuthFake {
  let next = ''
  const codes = new Map<string, { login: string; redirect: string }>()
  const tokens = new Map<string, string>()
  const permissions = new Map<string, 'read' | 'write' | 'admin'>()
  const json = (status: number, body: unknown) => ({ status, body })
  const routes: StandinRoute[] = [
    {
      // The person is signed in to GitHub and has authorized the App before: GitHub sends
      // them straight back with a code and the state it was given.
      route: 'GET /login/oauth/authorize',
      reply: (r) => {
        const redirect = r.query.get('redirect_uri') ?? ''
        if (r.query.get('client_id') !== client.id || redirect === '' || next === '') {
          return json(400, { message: 'unknown client or nobody signed in to GitHub' })
        }
        const code = randomBytes(10).toString('hex')
        codes.set(code, { login: next, redirect })
        const back = new URL(redirect)
        back.searchParams.set('code', code)
        back.searchParams.set('state', r.query.get('state') ?? '')
        return { status: 302, headers: { location: back.toString() } }
      },
    },
    {
      route: 'POST /login/oauth/access_token',
      reply: (r) => {
        const b = (r.body ?? {}) as Record<string, unknown>
        const grant = codes.get(String(b.code))
        codes.delete(String(b.code))
        if (
          b.client_id !== client.id ||
          b.client_secret !== client.secret ||
          grant === undefined ||
          b.redirect_uri !== grant.redirect
        ) {
          return json(200, {
            error: 'bad_verification_code',
            error_description: 'The code passed is incorrect or expired.',
          })
        }
        const token = `ghu_${randomBytes(18).toString('hex')}`
        tokens.set(token, grant.login)
        return json(200, { access_token: token, token_type: 'bearer', scope: '' })
      },
    },
    {
      route: 'GET /user',
      reply: (r: StandinRequest) => {
        const token = /^(?:bearer|token) (\S+)$/i.exec(String(r.headers.authorization ?? ''))?.[1]
        const login = token === undefined ? undefined : tokens.get(token)
        if (login === undefined) return json(401, { message: 'Bad credentials' })
        return json(200, { login, id: 583231, type: 'User' })
      },
    },
    {
      route: 'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
      reply: (r) => {
        const permission = permissions.get(String(r.params.username)) ?? 'none'
        return json(200, {
          permission,
          role_name: permission,
          user: { login: r.params.username, id: 1, type: 'User' },
        })
      },
    },
  ]
  return {
    routes,
    permissions,
    signInAs(login) {
      next = login
    },
    isOAuthPage: (problem) =>
      /^(GET \/login\/oauth\/authorize|POST \/login\/oauth\/access_token): no such path/.test(
        problem,
      ),
  }
}
