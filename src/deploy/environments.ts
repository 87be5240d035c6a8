import type { EnvironmentConfig, Permission, RepoConfig } from '../config/load-repo-config.js'
import type { Manifest } from '../manifest/types.js'

export type ResolvedEnvironment =
  | { ok: true; name: string; config: EnvironmentConfig; permission: Permission }
  | { ok: false; name: string; message: string }

/**
 * Which environment a deploy goes to and how: the one asked for, else the manifest's
 * `deploy.environment`, else production. Environments come from the repo config; production
 * also exists without one (on the manifest's target), so a fresh repository can deploy.
 */
export function resolveEnvironment(
  config: RepoConfig,
  manifest: Pick<Manifest, 'deploy'> | null,
  requested: string | null,
): ResolvedEnvironment {
  const name = requested ?? manifest?.deploy.environment ?? 'production'
  const configured = config.environments[name]
  const env: EnvironmentConfig | undefined =
    configured ??
    (name === 'production'
      ? {
          target: manifest?.deploy.target ?? 'local',
          keepReleases: 5,
          shared: [],
          php: {},
        }
      : undefined)
  if (env === undefined) {
    const known = Object.keys(config.environments)
    return {
      ok: false,
      name,
      message:
        `There is no environment \`${name}\` in \`.github/devsys.yml\` ` +
        `(configured: ${known.length === 0 ? 'none' : known.map((k) => `\`${k}\``).join(', ')}). ` +
        `Add it under \`environments:\` on the default branch, e.g. \`${name}: { target: local }\`.`,
    }
  }
  return {
    ok: true,
    name,
    config: env,
    permission: env.deployPermission ?? config.permissions.deploy,
  }
}
