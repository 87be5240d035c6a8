import type { GitHubClient } from '../app-deps.js'

/**
 * The installation access token behind an installation client, for git over HTTPS. It is handed
 * to git through the environment only (src/git/git-env.ts) and never stored or logged.
 */
export async function installationToken(
  github: GitHubClient,
  installationId: number,
): Promise<string> {
  const auth = (await github.auth({ type: 'installation', installationId })) as { token?: unknown }
  if (typeof auth.token !== 'string') throw new Error('GitHub returned no installation token')
  return auth.token
}
