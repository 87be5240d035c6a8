import { lstat, readdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type Dockerode from 'dockerode'
import type { Logger } from 'pino'
import { DEFAULT_SANDBOX, type SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'
import type { DeployEnv } from '../config/load-env.js'
import type { EnvironmentConfig } from '../config/load-repo-config.js'
import { resolveDeployRoot } from './resolve-deploy-root.js'
import { resolveSshRoot } from './resolve-ssh-root.js'
import { PhpMissingError, type PhpServe, servePhp } from './serve-local.js'
import { createLocalTarget } from './targets/local-target.js'
import { createPhpTarget, PHP_DEPLOY_BASE } from './targets/php-target.js'
import type { ShellHelper } from './targets/shell-helper.js'
import { createSshPool } from './targets/ssh-pool.js'
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
  /**
   * Serves again every local environment that has a live release (after a restart), each on
   * the port it had when `lastUrl` knows it and the port is free. Returns what it serves.
   */
  resumeLocal(): Promise<Array<{ repo: string; environment: string; url: string }>>
  /** Stops the php -S servers of local environments and ends the kept SSH connections. */
  close(): Promise<void>
}

export interface TargetsOptions {
  /** Local releases live in `<dataDir>/deploys/<owner>/<repo>/<environment>`. */
  dataDir: string
  deploy: DeployEnv
  docker?: Dockerode
  log: Logger
  /**
   * Where a local environment was last served (its last successful deployment's URL), so that
   * a restarted DevSys serves it on the same port and GitHub's "View deployment" still works.
   */
  lastUrl?: (repo: string, environment: string) => Promise<string | null>
  /** Where the php -S of local environments runs; default the sandbox with default limits. */
  sandbox?: SandboxSettings
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
  // One kept connection per ssh host and one helper shell per php container, shared by deploys,
  // rollbacks and monitor checks.
  const sshPool = createSshPool()
  const phpHelpers = new Map<string, Promise<ShellHelper>>()
  const sandbox = opts.sandbox === undefined ? {} : { sandbox: opts.sandbox }
  // As root, shared folders belong to the sandbox user, who runs the site and writes there.
  const settings = opts.sandbox
  const sharedOwner =
    settings?.enabled !== false && process.getuid?.() === 0
      ? { uid: settings?.uid ?? DEFAULT_SANDBOX.uid, gid: settings?.gid ?? DEFAULT_SANDBOX.gid }
      : undefined

  /** The php -S URL of a local root; null when PHP is missing (the deploy still happens). */
  async function serve(
    root: string,
    where: { repo: string; environment: string },
    log: Logger,
  ): Promise<string | null> {
    let server = servers.get(root)
    if (server === undefined) {
      server = startServer(root, where, log)
      servers.set(root, server)
    }
    return (await server)?.url ?? null
  }

  async function startServer(
    root: string,
    where: { repo: string; environment: string },
    log: Logger,
  ): Promise<PhpServe | null> {
    const last = await opts.lastUrl?.(where.repo, where.environment).catch(() => null)
    const port = last ? loopbackPort(last) : undefined
    try {
      if (port !== undefined) {
        const again = await servePhp(root, { port, ...sandbox }).catch((error: unknown) => {
          if (error instanceof PhpMissingError) throw error
          log.info({ root, port }, 'the previous port of this environment is taken; using another')
          return undefined
        })
        if (again !== undefined) return again
      }
      return await servePhp(root, sandbox)
    } catch (error) {
      log.warn({ root, err: error }, 'local deploys are not served')
      servers.delete(root)
      return null
    }
  }

  return {
    async targetFor({ repo, environment, config }, log) {
      const shared = config.shared
      switch (config.target) {
        case 'local': {
          const root = localDeployRoot(opts.dataDir, repo, environment)
          // Only the php -S DevSys starts itself is trusted; a repository's url is checked
          // like any other address (it could name DevSys's own port).
          const served =
            config.url === undefined && opts.deploy.serveLocal
              ? await serve(root, { repo, environment }, log)
              : null
          const url = config.url ?? served
          return createLocalTarget({
            root,
            shared,
            ...(url === null ? {} : { url }),
            ...(sharedOwner === undefined ? {} : { sharedOwner }),
            ...(served === null ? {} : { trustedOrigin: new URL(served).origin }),
          })
        }
        case 'php': {
          const placed = resolveDeployRoot(
            PHP_DEPLOY_BASE,
            repo,
            environment,
            config.php.path,
            `environments.${environment}.php.path`,
          )
          if (!placed.ok) throw new DeployError('unavailable', 'php', placed.message)
          return createPhpTarget({
            container: config.php.container ?? opts.deploy.php.container,
            root: placed.root,
            site: placed.site,
            shared,
            url: config.url ?? opts.deploy.php.url,
            // The server set PHP_DEPLOY_URL; a repository's url only counts if it is the same origin.
            trustedOrigin: new URL(opts.deploy.php.url).origin,
            helpers: phpHelpers,
            ...(opts.docker === undefined ? {} : { docker: opts.docker }),
          })
        }
        case 'ssh': {
          const ssh = config.ssh
          const key = opts.deploy.ssh.privateKeyPath
          if (ssh === undefined || key === undefined) {
            throw new DeployError(
              'unavailable',
              'ssh',
              ssh === undefined
                ? `environment ${environment} has target ssh but no ssh settings; add ssh: {host, user} to it in .github/devsys.yml`
                : 'the DevSys server has no key for ssh deploys; set EXTERNAL_DEPLOY_SSH_KEY_PATH (and EXTERNAL_DEPLOY_KNOWN_HOSTS) on the server',
            )
          }
          const placed = resolveSshRoot(opts.deploy.ssh.allow, repo, environment, ssh)
          if (!placed.ok) throw new DeployError('unavailable', 'ssh', placed.message)
          return createSshTarget({
            host: ssh.host,
            port: ssh.port,
            username: ssh.user,
            privateKeyPath: key,
            knownHostsPath:
              opts.deploy.ssh.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts'),
            root: placed.root,
            shared,
            runCompose: opts.deploy.ssh.runCompose,
            pool: sshPool,
            log,
            ...(config.url === undefined ? {} : { url: config.url }),
          })
        }
      }
    },
    async resumeLocal() {
      const served: Array<{ repo: string; environment: string; url: string }> = []
      if (!opts.deploy.serveLocal) return served
      for (const site of await liveLocalSites(join(opts.dataDir, 'deploys'))) {
        const url = await serve(site.root, site, opts.log)
        if (url !== null) served.push({ repo: site.repo, environment: site.environment, url })
      }
      return served
    },
    async close() {
      await sshPool.close()
      for (const helper of phpHelpers.values()) (await helper.catch(() => undefined))?.close()
      phpHelpers.clear()
      const all = [...servers.values()]
      servers.clear()
      for (const server of await Promise.all(all)) await server?.stop()
    },
  }
}

/** The port of a URL on this machine's loopback, e.g. a php -S site DevSys served before. */
function loopbackPort(url: string): number | undefined {
  try {
    const parsed = new URL(url)
    if (parsed.hostname !== '127.0.0.1' || parsed.port === '') return undefined
    return Number(parsed.port)
  } catch {
    return undefined
  }
}

/** Local environments with a live release: `<deploys>/<owner>/<repo>/<env>/current`. */
async function liveLocalSites(
  deploys: string,
): Promise<Array<{ root: string; repo: string; environment: string }>> {
  const list = (dir: string) => readdir(dir).catch(() => [] as string[])
  const sites: Array<{ root: string; repo: string; environment: string }> = []
  for (const owner of await list(deploys)) {
    for (const name of await list(join(deploys, owner))) {
      for (const environment of await list(join(deploys, owner, name))) {
        const root = join(deploys, owner, name, environment)
        const live = await lstat(join(root, 'current')).catch(() => null)
        if (live?.isSymbolicLink() === true) {
          sites.push({ root, repo: `${owner}/${name}`, environment })
        }
      }
    }
  }
  return sites
}
