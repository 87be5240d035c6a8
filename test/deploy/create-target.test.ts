import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadEnv } from '../../src/config/load-env.js'
import { parseRepoConfig } from '../../src/config/load-repo-config.js'
import { createTargets, localDeployRoot, type Targets } from '../../src/deploy/create-target.js'
import { execInContainer } from '../../src/deploy/targets/docker-exec.js'
import { DeployError } from '../../src/deploy/types.js'
import { requireTool } from '../helpers/require-tool.js'
import { requirePhpApacheImage, startPhpApache } from './php-apache-container.js'
import { fetchWhenUp } from './release-fixtures.js'

// Real php -S, real files; this file loads no nock, so fetch reaches the servers directly.
const log = pino({ level: 'silent' })
const REPO = 'octo-org/hello-world'
let dataDir: string
let made: Targets[] = []
const hasImage = await requirePhpApacheImage('the php target drives a real Apache + PHP container')

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'devsys-targets-'))
})
afterEach(async () => {
  for (const targets of made) await targets.close()
  made = []
  await rm(dataDir, { recursive: true, force: true })
})

function targets(env: Record<string, string> = {}, lastUrl?: () => Promise<string | null>) {
  const loaded = loadEnv({ DATA_DIR: dataDir, ...env })
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
  const created = createTargets({
    dataDir,
    deploy: loaded.config.deploy,
    log,
    ...(lastUrl === undefined ? {} : { lastUrl }),
  })
  made.push(created)
  return created
}

function environment(yaml: string) {
  const parsed = parseRepoConfig(yaml)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
  const config = parsed.config.environments.production
  if (config === undefined) throw new Error('no production environment')
  return { repo: REPO, environment: 'production', config }
}

/** A live release in the local target's folder, as a deploy leaves it. */
async function liveSite(text: string) {
  const root = localDeployRoot(dataDir, REPO, 'production')
  const release = join(root, 'releases', 'a'.repeat(40), 'public')
  await mkdir(release, { recursive: true })
  await writeFile(join(release, 'index.php'), `<?php echo '${text}';`)
  await symlink(`releases/${'a'.repeat(40)}`, join(root, 'current'))
}

describe.skipIf(!requireTool('php', 'local environments are served with php -S'))(
  'deploy targets from the repo config',
  () => {
    it('serves a local environment with php -S, one server per environment', async () => {
      const t = targets()
      const first = await t.targetFor(
        environment('environments: { production: { target: local } }'),
        log,
      )
      const again = await t.targetFor(
        environment('environments: { production: { target: local } }'),
        log,
      )
      expect(first.kind).toBe('local')
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(again.url).toBe(first.url)
    })

    it("trusts only origins the server chose: its own php -S and PHP_DEPLOY_URL, never a repo's url", async () => {
      const t = targets({ PHP_DEPLOY_URL: 'http://127.0.0.1:8089/site' })
      const served = await t.targetFor(
        environment('environments: { production: { target: local } }'),
        log,
      )
      expect(served.trustedOrigin).toBe(served.url)
      const named = await t.targetFor(
        environment(
          'environments: { production: { target: local, url: "http://127.0.0.1:3000" } }',
        ),
        log,
      )
      expect([named.url, named.trustedOrigin]).toEqual(['http://127.0.0.1:3000', undefined])
      const php = await t.targetFor(
        environment('environments: { production: { target: php, url: "http://127.0.0.1:3000" } }'),
        log,
      )
      expect([php.url, php.trustedOrigin]).toEqual([
        'http://127.0.0.1:3000',
        'http://127.0.0.1:8089',
      ])
      await Promise.all([served.close(), named.close(), php.close()])
    })

    it('after a restart, serves live local sites again on their previous port', async () => {
      await liveSite('still here')
      const before = targets()
      const [site] = await before.resumeLocal()
      expect(site).toMatchObject({ repo: REPO, environment: 'production' })
      const url = site?.url ?? ''
      expect(await (await fetch(url)).text()).toBe('still here')
      await before.close()
      // A new DevSys process: the store knows the URL of the last deployment.
      const after = targets({}, async () => url)
      expect(await after.resumeLocal()).toEqual([{ repo: REPO, environment: 'production', url }])
      expect(await (await fetch(url)).text()).toBe('still here')
    })

    it('with LOCAL_DEPLOY_SERVE=off only writes releases, and the environment url is used', async () => {
      await liveSite('x')
      const t = targets({ LOCAL_DEPLOY_SERVE: 'off' })
      expect(await t.resumeLocal()).toEqual([])
      const target = await t.targetFor(
        environment(
          'environments: { production: { target: local, url: "https://blog.example.com" } }',
        ),
        log,
      )
      expect(target.url).toBe('https://blog.example.com')
    })
  },
)

describe('deploy targets: settings the server lacks', () => {
  it('an ssh environment without EXTERNAL_DEPLOY_SSH_KEY_PATH is refused with what to set', async () => {
    const t = targets()
    const refused = await t
      .targetFor(
        environment(
          'environments: { production: { target: ssh, ssh: { host: web1.example.com, user: deploy } } }',
        ),
        log,
      )
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(DeployError)
    expect((refused as Error).message).toContain('set EXTERNAL_DEPLOY_SSH_KEY_PATH')
  })

  it('an ssh host the server did not allow for the repository is refused, naming the entry to add', async () => {
    const t = targets({
      EXTERNAL_DEPLOY_SSH_KEY_PATH: '/nonexistent/key',
      // web1 is allowed, for other repositories and as another user.
      EXTERNAL_DEPLOY_SSH_ALLOW:
        'other/*=deploy@web1.example.com/srv/sites octo-org/*=www@web1.example.com/srv/sites',
    })
    const refused = await t
      .targetFor(
        environment(
          'environments: { production: { target: ssh, ssh: { host: web1.example.com, user: deploy, path: blog } } }',
        ),
        log,
      )
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(DeployError)
    expect(refused).toMatchObject({ code: 'unavailable', target: 'ssh' })
    expect((refused as Error).message).toContain(
      `the server's operator adds the entry ${REPO}=deploy@web1.example.com:22/<folder on the host>`,
    )
  })

  it('a php path that climbs out of the repository folder is refused before anything is reached', async () => {
    const {
      repo,
      environment: name,
      config,
    } = environment('environments: { production: { target: php } }')
    const refused = await targets()
      .targetFor(
        { repo, environment: name, config: { ...config, php: { path: '../../other/production' } } },
        log,
      )
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(DeployError)
    expect((refused as Error).message).toMatch(
      /^environments\.production\.php\.path in \.github\/devsys\.yml is "\.\.\/\.\.\/other\/production"/,
    )
  })
})

describe.skipIf(!hasImage)('deploy targets: the php container serves one repository', () => {
  it("deploys the container's own site into <owner>/<repo>/<env> and refuses any other repository or environment", async () => {
    const docker = new Dockerode()
    const php = await startPhpApache(docker, undefined, true, `${REPO}/production`)
    try {
      const loaded = loadEnv({ DATA_DIR: dataDir, PHP_DEPLOY_CONTAINER: php.name })
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
      const t = createTargets({ dataDir, deploy: loaded.config.deploy, docker, log })
      made.push(t)
      const yaml = 'environments: { production: { target: php }, staging: { target: php } }'
      const own = await t.targetFor(environment(yaml), log)
      // The repository's own site goes to its folder, which is what the container's Apache serves.
      const release = join(dataDir, 'release')
      await mkdir(join(release, 'public'), { recursive: true })
      await writeFile(join(release, 'public/index.php'), "<?php echo 'own site';")
      const id = 'b'.repeat(40)
      await own.upload({ id, dir: release }, { signal: new AbortController().signal, log })
      await own.activate(id)
      const link = await execInContainer(docker, php.container, [
        'readlink',
        `/var/www/devsys/${REPO}/production/current`,
      ])
      expect(link.stdout.trim()).toBe(`releases/${id}`)
      expect(await fetchWhenUp(`${php.url}/`, 15_000)).toEqual({ status: 200, body: 'own site' })

      const { config } = environment(yaml)
      for (const [repo, env] of [
        ['octo-org/other', 'production'],
        [REPO, 'staging'],
      ] as const) {
        const other = await t.targetFor({ repo, environment: env, config }, log)
        const refused = await other.state().catch((error: unknown) => error)
        expect(refused).toBeInstanceOf(DeployError)
        expect((refused as Error).message).toContain(
          `The container ${php.name} serves ${REPO}/production, not ${repo}/${env}`,
        )
      }
      // Nothing was made for them.
      const listed = await execInContainer(docker, php.container, [
        'find',
        '/var/www/devsys',
        '-maxdepth',
        '3',
        '-type',
        'd',
      ])
      expect(listed.stdout).not.toContain('octo-org/other')
      expect(listed.stdout).not.toContain('staging')
    } finally {
      await php.remove()
    }
  })
})
