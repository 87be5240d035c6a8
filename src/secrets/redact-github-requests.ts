import type { GitHubAuth, GitHubClient } from '../app-deps.js'
import { redactDeep } from './redact.js'

/**
 * Request options octokit uses for routing and authentication; everything else is the
 * request's parameters and body (REST parameters, `data`, GraphQL `query` and `variables`).
 */
const ROUTING = new Set(['method', 'url', 'baseUrl', 'headers', 'request', 'mediaType'])

const guarded = new WeakSet<GitHubClient>()

/**
 * `auth` whose clients redact every request before it leaves for GitHub: check runs, comments,
 * pull requests, deployments, GraphQL mutations, whatever src/report (or anything else) sends.
 * Every job gets its clients from this one function (src/boot.ts jobHandlers), so this is the
 * choke point for GitHub writes; webhook handlers never write. (Installation tokens are
 * registered where a job takes one out of its client: src/github/installation-token.ts.)
 */
export function redactingAuth(auth: GitHubAuth): GitHubAuth {
  return async (installationId) => {
    const client = await auth(installationId)
    redactGitHubRequests(client)
    return client
  }
}

/** Installs the redaction on one client; a client already guarded is left as it is. */
export function redactGitHubRequests(client: GitHubClient): void {
  if (guarded.has(client)) return
  guarded.add(client)
  client.hook.before('request', (options) => {
    const params = options as Record<string, unknown>
    for (const key of Object.keys(params)) {
      if (!ROUTING.has(key)) params[key] = redactDeep(params[key])
    }
  })
}
