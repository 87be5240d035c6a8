import { ProbotOctokit } from 'probot'

interface AuthRequest {
  defaults(options: { baseUrl: string }): AuthRequest
}

/**
 * Probot's GitHub client class, with the app's token requests sent to `baseUrl`.
 *
 * Probot gives the app's auth strategy (@octokit/auth-app) its own `request`, built without the
 * client's `baseUrl`. Requests the client sends find their token through the client's hook, which
 * passes its own base URL; but `client.auth({ type: 'installation' })`, which DevSys calls for
 * the token git pushes with, uses that bare `request` and would ask api.github.com for a GitHub
 * Enterprise Server installation's token. This points that request at the configured API too.
 */
export function appOctokit(baseUrl: string): typeof ProbotOctokit {
  return ProbotOctokit.defaults((options: Record<string, unknown>) => {
    const auth = options.auth as { request?: AuthRequest } | undefined
    if (typeof auth?.request?.defaults !== 'function') return options
    return { ...options, auth: { ...auth, request: auth.request.defaults({ baseUrl }) } }
  })
}
