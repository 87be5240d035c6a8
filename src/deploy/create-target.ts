import { homedir } from 'node:os'
import { join } from 'node:path'
import type Dockerode from 'dockerode'
import type { Logger } from 'pino'
import type { DeployEnv } from '../config/load-env.js'
import type { EnvironmentConfig } from '../config/load-repo-config.js'
import { type PhpServe, servePhp } from './serve-local.js'
import { createLocalTarget } from './targets/local-target.js'
import { createPhpTarget } from './targets/php-target.js'
import { createSshTarget } from './targets/ssh-target.js'
import { DeployError, type DeployTarget } from './types.js'

/** Where a deploy goes: the repository ('owner/name'), the environment and its settings. */
export interface TargetRequest {
  repo: string
  environment: string
  config: EnvironmentConfig
}

/** Builds the deploy target of an environment; the caller closes it. */
export type TargetFactory = (request: TargetRequest, log: Logger) => Promise<DeployTarget>

export interface Targets {
  targetFor: TargetFactory
  /** Stops the php -S servers of local environments. */
  close(): Promise<void>
}

export interface TargetsOptions {
  /** Local releases live in `<dataDir>/deploys/<owner>/<repo>/<environment>`. */
  dataDir: string
  deploy: DeployEnv
  docker?: Dockerode
  log: Logger
}

/** The local target's folder of an environment. */
export function localDeployRoot(dataDir: string, repo: string, environment: string): string {
  const [owner = '', name = ''] = repo.split('/')
  return join(dataDir, 'deploys', owner, name, environment)
}

/**
 * Deploy targets from the repo config's environments and DevSys's own deploy settings. Local
 * environments are served by one `php -S` each, started on first use and kept for the life of
 * the process, so a deploy ends with a URL that answers.
 */
export function createTargets(opts: TargetsOptions): Targets {
  const servers = new Map<string, Promise<PhpServe | null>>()

  /** The php -S URL of a local root; null when PHP is missing (the deploy still happens). */
  async function serve(root: string, log: Logger): Promise<string | null> {
    let server = servers.get(root)
    if (server === undefined) {
      server = servePhp(root).catch((error: unknown) => {
        log.warn({ root, err: error }, 'local deploys are not served')
        servers.delete(root)
        return null
      })
      servers.set(root, server)
    }
    return (await server)?.url ?? null
  }

  return {
    async targetFor({ repo, environment, config }, log) {
      const shared = config.shared
      switch (config.target) {
        case 'local': {
          const root = localDeployRoot(opts.dataDir, repo, environment)
          const url = config.url ?? (opts.deploy.serveLocal ? await serve(root, log) : null)
          return createLocalTarget({ root, shared, ...(url === null ? {} : { url }) })
        }
        case 'php':
          return createPhpTarget({
            container: config.php.container ?? opts.deploy.php.container,
            root: config.php.path,
            shared,
            url: config.url ?? opts.deploy.php.url,
            ...(opts.docker === undefined ? {} : { docker: opts.docker }),
          })
        case 'ssh': {
          const ssh = config.ssh
          const key = opts.deploy.ssh.privateKeyPath
          if (ssh === undefined || key === undefined) {
            throw new DeployError(
              'unavailable',
              'ssh',
              ssh === undefined
                ? `environment ${environment} has target ssh but no ssh settings; add ssh: {host, user, path} to it in .github/devsys.yml`
                : 'the DevSys server has no key for ssh deploys; set EXTERNAL_DEPLOY_SSH_KEY_PATH (and EXTERNAL_DEPLOY_KNOWN_HOSTS) on the server',
            )
          }
          return createSshTarget({
            host: ssh.host,
            port: ssh.port,
            username: ssh.user,
            privateKeyPath: key,
            knownHostsPath:
              opts.deploy.ssh.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts'),
            root: ssh.path,
            shared,
            runCompose: opts.deploy.ssh.runCompose,
            log,
            ...(config.url === undefined ? {} : { url: config.url }),
          })
        }
      }
    },
    async close() {
      const all = [...servers.values()]
      servers.clear()
      for (const server of await Promise.all(all)) await server?.stop()
    },
  }
}
