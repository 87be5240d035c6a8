import picomatch from 'picomatch'
import type { EnvironmentConfig } from '../config/load-repo-config.js'
import type { SshAllowEntry } from './parse-ssh-allow-list.js'
import { type DeployRootResult, resolveDeployRoot } from './resolve-deploy-root.js'

type SshSettings = NonNullable<EnvironmentConfig['ssh']>

/**
 * Where a repository's ssh environment deploys, if the server lets it: the first entry of
 * EXTERNAL_DEPLOY_SSH_ALLOW whose glob matches the repository and whose host, port and user
 * match the environment's gives the root, `<entry root>/<owner>/<repo>/<ssh.path or env>`.
 * No entry: refused, naming the entry the operator would add. A repository cannot widen this.
 */
export function resolveSshRoot(
  allow: readonly SshAllowEntry[],
  repo: string,
  environment: string,
  ssh: SshSettings,
): DeployRootResult {
  const host = ssh.host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  const entry = allow.find(
    (e) =>
      e.host === host &&
      e.port === ssh.port &&
      (e.user === undefined || e.user === ssh.user) &&
      picomatch.isMatch(repo, e.repos, { nocase: true, dot: true }),
  )
  if (entry === undefined) {
    const address = host.includes(':') ? `[${host}]` : host
    return {
      ok: false,
      message:
        `${repo} may not deploy to ${ssh.user}@${address}:${ssh.port} (environment ${environment}): ` +
        'the DevSys server allows ssh deploys only to the hosts its EXTERNAL_DEPLOY_SSH_ALLOW lists for each repository, and a repository cannot widen that list. ' +
        `If this host is meant for ${repo}, the server's operator adds the entry ${repo}=${ssh.user}@${address}:${ssh.port}/<folder on the host> ` +
        `(the repository then deploys below <folder on the host>/${repo}/); otherwise fix environments.${environment}.ssh in .github/devsys.yml.`,
    }
  }
  return resolveDeployRoot(
    entry.root,
    repo,
    environment,
    ssh.path,
    `environments.${environment}.ssh.path`,
  )
}
