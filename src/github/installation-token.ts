import type { GitHubClient } from '../app-deps.js'
import { registerSecret } from '../secrets/redact.js'

/** Installation tokens stay redacted this long after they expire, for clocks that disagree. */
const EXPIRY_MARGIN_MS = 10 * 60 * 1000

/**
 * The installation access token behind an installation client, for git over HTTPS. It is handed
 * to git through the environment only (src/git/git-env.ts) and never stored or logged; it is
 * registered as a secret, so output that shows it anyway (a test printing its environment, a
 * git error) has it redacted wherever DevSys writes that output.
 */
export async function installationToken(
  github: GitHubClient,
  installationId: number,
): Promise<string> {
  const auth = (await github.auth({ type: 'installation', installationId })) as {
    token?: unknown
    expiresAt?: unknown
  }
  if (typeof auth.token !== 'string') throw new Error('GitHub returned no installation token')
  const expires = typeof auth.expiresAt === 'string' ? Date.parse(auth.expiresAt) : Number.NaN
  registerSecret(auth.token, Number.isNaN(expires) ? {} : { until: expires + EXPIRY_MARGIN_MS })
  return auth.token
}
