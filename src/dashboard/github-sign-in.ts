import type { AppConfig } from '../config/load-env.js'

/** The App's OAuth client (GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET). */
export interface OAuthClient {
  clientId: string
  clientSecret: string
}

/**
 * Where GitHub's OAuth pages are, as @octokit/oauth-methods finds them: github.com for
 * github.com, the server itself (`GHE_PROTOCOL://GHE_HOST`) for GitHub Enterprise Server.
 */
export function oauthBaseUrl(config: Pick<AppConfig, 'gheHost' | 'gheProtocol'>): string {
  return config.gheHost === undefined
    ? 'https://github.com'
    : `${config.gheProtocol ?? 'https'}://${config.gheHost}`
}

/** Where GitHub's REST API is (api.github.com, or `/api/v3` on the Enterprise Server). */
export function apiBaseUrl(config: Pick<AppConfig, 'gheHost' | 'gheProtocol'>): string {
  return config.gheHost === undefined
    ? 'https://api.github.com'
    : `${config.gheProtocol ?? 'https'}://${config.gheHost}/api/v3`
}

/** The GitHub page that asks the person to sign in to the App (the user-to-server flow). */
export function authorizeUrl(
  base: string,
  client: OAuthClient,
  opts: { redirectUrl: string; state: string },
): string {
  const url = new URL('/login/oauth/authorize', base)
  url.searchParams.set('client_id', client.clientId)
  url.searchParams.set('redirect_uri', opts.redirectUrl)
  url.searchParams.set('state', opts.state)
  url.searchParams.set('allow_signup', 'false')
  return url.toString()
}

export type SignInResult = { ok: true; login: string } | { ok: false; reason: string }

/**
 * Exchanges the code GitHub sent back for a user token and reads whose it is. The token is used
 * for that one request and then forgotten: roles are read with the App's installation token.
 */
export async function signInWithCode(
  config: Pick<AppConfig, 'gheHost' | 'gheProtocol'>,
  client: OAuthClient,
  opts: { code: string; redirectUrl: string },
): Promise<SignInResult> {
  const exchanged = await fetch(new URL('/login/oauth/access_token', oauthBaseUrl(config)), {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      code: opts.code,
      redirect_uri: opts.redirectUrl,
    }),
    signal: AbortSignal.timeout(15_000),
  })
  const body = (await exchanged.json().catch(() => ({}))) as {
    access_token?: unknown
    error?: unknown
    error_description?: unknown
  }
  if (!exchanged.ok || typeof body.access_token !== 'string') {
    const why = typeof body.error_description === 'string' ? body.error_description : body.error
    return {
      ok: false,
      reason: `GitHub refused the sign-in code (${String(why ?? exchanged.status)})`,
    }
  }
  const user = await fetch(`${apiBaseUrl(config)}/user`, {
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${body.access_token}`,
      'user-agent': 'devsys-dashboard',
    },
    signal: AbortSignal.timeout(15_000),
  })
  const who = (await user.json().catch(() => ({}))) as { login?: unknown; type?: unknown }
  if (!user.ok || typeof who.login !== 'string') {
    return { ok: false, reason: `GitHub did not say who signed in (GET /user: ${user.status})` }
  }
  return { ok: true, login: who.login }
}
