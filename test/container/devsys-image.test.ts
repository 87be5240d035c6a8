import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Dockerode from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { execInContainer } from '../../src/deploy/targets/docker-exec.js'
import { PHP_TARGET_LABEL } from '../../src/deploy/targets/php-target.js'
import { requirePhpApacheImage, startPhpApache } from '../deploy/php-apache-container.js'
import { httpRequest } from '../helpers/http.js'
import { freePort, requireDocker } from '../helpers/services.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The Node base made from this machine's Node.js by runner/docker/build-node-base.sh. */
const BASE_IMAGE = 'local/node:20-bookworm'
const IMAGE = 'devsys/devsys:test'
const LABEL = 'org.devsys.test'
const SOCKET = process.env.DOCKER_HOST?.startsWith('unix://')
  ? process.env.DOCKER_HOST.slice('unix://'.length)
  : '/var/run/docker.sock'

const hasDocker =
  (await requireNodeBase()) &&
  (await requirePhpApacheImage('the DevSys container drives the php target through the socket'))

/**
 * Whether the local Node base can be used: built with runner/docker/build-images.sh when the
 * engine answers but the image is missing, then requireDocker's rule (fail under CI=true).
 */
async function requireNodeBase(): Promise<boolean> {
  const docker = new Dockerode()
  const missing = await docker.ping().then(
    () =>
      docker
        .getImage(BASE_IMAGE)
        .inspect()
        .then(
          () => false,
          () => true,
        ),
    () => false,
  )
  if (missing) {
    process.stderr.write(`building ${BASE_IMAGE} with runner/docker/build-images.sh\n`)
    await run('bash', [`${ROOT}runner/docker/build-images.sh`], { timeout: 15 * 60_000 }).catch(
      (error: { stderr?: string }) => {
        process.stderr.write(`build-images.sh failed: ${error.stderr ?? String(error)}\n`)
      },
    )
  }
  return requireDocker('the DevSys image is built from the Dockerfile and run', BASE_IMAGE)
}

/** `docker build` of the repository's Dockerfile on the local base (layers cached by the engine). */
async function buildImage(): Promise<void> {
  const argv = ['build', '--build-arg', `BASE_IMAGE=${BASE_IMAGE}`, '--tag', IMAGE, ROOT]
  await run('docker', argv, { timeout: 15 * 60_000, maxBuffer: 256 * 1024 * 1024 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.slice(-6000)
      throw new Error(`docker ${argv.join(' ')} failed: ${error.message}\n${output}`)
    },
  )
}

/** A DevSys service of the compose file that uses the Docker engine, as written. */
interface EngineService {
  environment: Record<string, string>
  volumes: string[]
  group_add: string[]
}

/** The compose file's DevSys services and the php target, as written. */
interface ComposeFile {
  services: {
    /** The receiver, which builds the image every DevSys service runs. */
    devsys: { build: { args: Record<string, string> }; image: string }
    'worker-code': EngineService & { image: string }
    'worker-deploy': EngineService & { image: string }
    php: {
      image: string
      container_name: string
      labels: Record<string, string>
      environment: Record<string, string>
    }
  }
}

describe.skipIf(!hasDocker)('the DevSys image, built on the local Node base', () => {
  const docker = new Dockerode()
  const token = randomBytes(16).toString('hex')
  let php: Awaited<ReturnType<typeof startPhpApache>>
  let container: Dockerode.Container
  let url: string

  /** Waits until DevSys answers on its published port, or reports the container's log. */
  async function waitUntilUp(): Promise<void> {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const state = (await container.inspect()).State
      if (!state.Running) break
      const answer = await httpRequest(`${url}/api/health`).catch(() => undefined)
      if (answer !== undefined) return
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const log = (await container.logs({ stdout: true, stderr: true, tail: 40 })).toString('utf8')
    throw new Error(`DevSys did not answer on ${url} within 60 s; its log:\n${log}`)
  }

  beforeAll(async () => {
    await buildImage()
    php = await startPhpApache(docker)
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    // As the compose file's devsys service: the engine's socket, with its group, and the php
    // target's container name; no APP_ID, so DevSys starts in setup mode.
    container = await docker.createContainer({
      name: `devsys-test-app-${randomBytes(4).toString('hex')}`,
      Image: IMAGE,
      Env: [`MANAGER_API_TOKEN=${token}`, `PHP_DEPLOY_CONTAINER=${php.name}`],
      ExposedPorts: { '3000/tcp': {} },
      HostConfig: {
        PortBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
        Binds: [`${SOCKET}:/var/run/docker.sock`],
        GroupAdd: [String((await stat(SOCKET)).gid)],
      },
      Labels: { [LABEL]: 'devsys-image' },
    })
    await container.start()
    await waitUntilUp()
  }, 20 * 60_000)

  afterAll(async () => {
    // v: the anonymous /data volume goes with the container.
    await container?.remove({ force: true, v: true }).catch(() => undefined)
    await php?.remove()
  })

  it('answers /api/health to anyone, and the rest of the manager API only with its token', async () => {
    const health = await httpRequest(`${url}/api/health`)
    expect(health.status).toBe(200)
    expect(health.headers['content-type']).toMatch(/^application\/json/)
    expect(health.json()).toEqual({ status: 'ok' })
    expect((await httpRequest(`${url}/api/tasks`)).status).toBe(401)
    const tasks = await httpRequest(`${url}/api/tasks`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(tasks.status).toBe(200)
  })

  it('serves the registration page in setup mode, only with the setup token from its log', async () => {
    expect((await httpRequest(`${url}/probot`)).status).toBe(403)
    const log = (await container.logs({ stdout: true, stderr: true })).toString('utf8')
    const setupToken = /\/probot\?token=([\w-]+)/.exec(log)?.[1]
    expect(setupToken).toBeDefined()
    const page = await httpRequest(`${url}/probot`, {
      headers: { cookie: `devsys_setup=${setupToken}` },
    })
    expect(page.status).toBe(200)
    expect(page.text).toContain('Register GitHub App')
  })

  it('runs the server as node (uid 1000), which can write /data but not the app', async () => {
    const status = await execInContainer(docker, container, ['cat', '/proc/1/status'])
    expect(status.stdout).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m)
    const cmdline = await execInContainer(docker, container, ['cat', '/proc/1/cmdline'])
    expect(cmdline.stdout.split('\0')).toEqual(['node', '--import', 'tsx', 'src/main.ts', ''])
    const probe = await execInContainer(docker, container, [
      'sh',
      '-c',
      'touch src/x 2>/dev/null && echo app-writable || echo app-read-only',
    ])
    expect(probe.stdout).toBe('app-read-only\n')
    // The registration page saves the app's credentials with Probot's updateEnv, to .env in the
    // working directory: they must land on the data volume.
    const register = await execInContainer(docker, container, [
      'node',
      '--input-type=module',
      '-e',
      "const { updateEnv } = await import('/app/node_modules/probot/lib/helpers/update-env.js'); updateEnv({ APP_ID: '42' })",
    ])
    expect(register).toMatchObject({ code: 0, stderr: '' })
    const saved = await execInContainer(docker, container, ['cat', '/data/.env'])
    expect(saved.stdout).toBe('APP_ID=42')
    await execInContainer(docker, container, ['rm', '/data/.env'])
  })

  it('reaches the php target container through the mounted Docker socket', async () => {
    const script = [
      "import { createPhpTarget } from './src/deploy/targets/php-target.ts'",
      'const target = createPhpTarget({ container: process.env.PHP_DEPLOY_CONTAINER })',
      'console.log(JSON.stringify(await target.state()))',
    ].join('\n')
    const result = await execInContainer(docker, container, [
      'node',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ])
    expect(result.stderr).toBe('')
    expect(JSON.parse(result.stdout)).toEqual({ current: null, releases: [] })
  })

  it("passes the image's own health check", async () => {
    const check = (await docker.getImage(IMAGE).inspect()).Config.Healthcheck
    expect(check?.Test?.[0]).toBe('CMD')
    const argv = check?.Test?.slice(1) ?? []
    expect(await execInContainer(docker, container, argv)).toMatchObject({ code: 0 })
  })

  it('stops cleanly on SIGTERM (exit 0; docker stop would kill it with 137 after 20 s)', async () => {
    await container.stop({ t: 20 })
    expect((await container.inspect()).State.ExitCode).toBe(0)
  })

  it('is what docker-compose.yml runs: local base as a build arg, socket, php container', async () => {
    const compose = parse(await readFile(`${ROOT}docker-compose.yml`, 'utf8')) as ComposeFile
    // The receiver builds the image; the workers run it, and they are the ones that use the
    // engine (the docker test runner, the php target).
    const { devsys, 'worker-code': code, 'worker-deploy': deployer, php: target } = compose.services
    /** Compose's `${NAME:-fallback}`: the variable, or the fallback when unset. */
    const variable = (name: string, fallback: string) => `\${${name}:-${fallback}}`
    expect(devsys.build.args.BASE_IMAGE).toBe(variable('BASE_IMAGE', 'node:20-bookworm-slim'))
    for (const worker of [code, deployer]) {
      expect(worker.image).toBe(devsys.image)
      expect(worker.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock')
      expect(worker.group_add).toEqual([variable('DOCKER_GID', '0')])
    }
    expect(deployer.environment.PHP_DEPLOY_CONTAINER).toBe(target.container_name)
    expect(target.image).toBe('devsys/php-apache:2')
    expect(target.labels[PHP_TARGET_LABEL]).toBe('php')
    // The one site the container serves is the operator's choice (DevSys refuses any other).
    expect(target.environment.DEVSYS_SITE).toBe(variable('DEVSYS_PHP_SITE', ''))
  })
})
