/**
 * Issue 13, item 7: docker-compose.yml as an operator runs it. One `docker compose up` brings up
 * PostgreSQL, Redis, the receiver, the coding/testing and the deploy/monitoring worker pools and
 * the `php` target; a task then goes through the stack to a page the `php` service serves:
 * a labelled issue (signed webhook to the receiver) → the coding worker generates the blog and
 * opens its pull request → `/deploy` on the PR → the deploy worker deploys it into the `php`
 * container → the page, fetched from that container's published port. GitHub is the e2e
 * stand-in on loopback, which the containers reach through a relay on Docker's bridge
 * (GHE_HOST). The stack is its own compose project with random host ports and its own `php`
 * container name, and is taken down with its volumes whatever happens.
 */
import { execFile } from 'node:child_process'
import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Dockerode from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GitHttpServer, startGitHttpServer } from '../git/git-http-server.js'
import { dockerHostAddress, relayForContainers } from '../helpers/container-relay.js'
import { createRemote, git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { requireCompose, requireDocker } from '../helpers/services.js'
import { fakeRepo, type RepoFake } from '../e2e/github-repo-routes.js'
import { type GitHubStandin, startGitHubStandin } from '../e2e/github-standin.js'
import {
  BLOG_MANIFEST,
  labeledIssuePayload,
  prCommentPayload,
  TESTS_CHECK,
} from '../e2e/scenario-steps.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OWNER = 'Codertocat'
const REPO = 'Hello-World'
/** The DevSys image .ci/run builds before the tests (and test/container/devsys-image.test.ts). */
const DEVSYS_IMAGE = 'devsys/devsys:test'
/** Built by runner/docker/build-images.sh, as docker-compose.yml expects them. */
const STACK_IMAGES = ['devsys/postgres:15', 'devsys/redis:7', 'devsys/php-apache:2']

const hasStack = await requireComposeStack()

/**
 * Whether Docker, Compose v2 and the stack's images are here: under CI=true anything missing is
 * an error (see .ci/run), elsewhere the suite is skipped with the reason.
 */
async function requireComposeStack(): Promise<boolean> {
  const why = 'docker-compose.yml is brought up and a task deployed through it'
  for (const image of [DEVSYS_IMAGE, ...STACK_IMAGES]) {
    if (!(await requireDocker(why, image))) return false
  }
  return requireCompose(why)
}

describe.skipIf(!hasStack)('the compose stack (docker-compose.yml), one task through it', () => {
  const docker = new Dockerode()
  const project = `devsys-compose-${randomBytes(4).toString('hex')}`
  const phpContainer = `${project}-php`
  const secret = randomBytes(16).toString('hex')
  const closers: (() => Promise<unknown>)[] = []
  let dir: string
  let github: GitHubStandin
  let gitServer: GitHttpServer
  let remote: { root: string; bare: string }
  let repo: RepoFake
  let cloneUrl: string
  let receiverUrl: string
  let phpUrl: string

  /** `docker compose` on this project, with the test's files; throws with the output. */
  const compose = async (...args: string[]) => {
    const argv = ['compose', '-p', project, '--project-directory', ROOT]
    argv.push('-f', join(ROOT, 'docker-compose.yml'), '-f', join(dir, 'override.json'))
    argv.push('--env-file', join(dir, 'compose.env'), ...args)
    return run('docker', argv, { timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`docker ${argv.join(' ')} failed: ${error.message}\n${error.stdout ?? ''}`)
      },
    )
  }
  /** The stack's last log lines, for failure messages. */
  const logs = async () =>
    (
      await compose('logs', '--no-color', '--tail', '60').catch((e: Error) => ({
        stdout: e.message,
      }))
    ).stdout
  /** The `host:port` a service's container port is published on. */
  const published = async (service: string, port: number) =>
    (await compose('port', service, String(port))).stdout.trim()

  /** Sends `payload` to the receiver as GitHub would: signed, with a fresh delivery id. */
  const sendWebhook = (event: string, payload: object) => {
    const body = JSON.stringify(payload)
    return httpRequest(`${receiverUrl}/api/github/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/compose',
        'x-github-event': event,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
      body,
    })
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devsys-compose-'))
    closers.push(() => rm(dir, { recursive: true, force: true }))
    // GitHub and the repository's git data on loopback, relayed to the containers.
    github = await startGitHubStandin()
    closers.push(() => github.close())
    remote = createRemote()
    closers.push(() => rm(remote.root, { recursive: true, force: true }))
    gitServer = await startGitHttpServer(remote.root, github.token)
    closers.push(() => gitServer.close())
    const hostAddress = await dockerHostAddress(docker)
    const apiRelay = await relayForContainers(Number(new URL(github.apiUrl).port), hostAddress)
    closers.push(() => apiRelay.close())
    const gitRelay = await relayForContainers(Number(new URL(gitServer.baseUrl).port), hostAddress)
    closers.push(() => gitRelay.close())
    const gheHost = `${hostAddress}:${apiRelay.port}`
    cloneUrl = `http://${hostAddress}:${gitRelay.port}/${REPO}.git`
    repo = fakeRepo({
      owner: OWNER,
      repo: REPO,
      bare: remote.bare,
      cloneUrl,
      apiUrl: `http://${gheHost}/api/v3`,
    })
    github.routes(...repo.routes)
    // The repository deploys production to the php target (the compose stack's `php` service).
    commitOnMain(remote, '.github/devsys.yml', 'environments:\n  production:\n    target: php\n')

    // Secrets and the settings of this run: interpolation values in an env file, the App's
    // credentials and GHE_HOST in an override (nothing written beside docker-compose.yml).
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    })
    const settings = {
      DEVSYS_IMAGE,
      POSTGRES_PASSWORD: randomBytes(12).toString('hex'),
      REDIS_PASSWORD: randomBytes(12).toString('hex'),
      DEVSYS_PORT: '127.0.0.1:0',
      DEVSYS_PHP_PORT: '127.0.0.1:0',
      DEVSYS_PHP_CONTAINER: phpContainer,
      DEVSYS_PHP_SITE: `${OWNER}/${REPO}/production`,
      DOCKER_GID: String((await stat('/var/run/docker.sock')).gid),
    }
    await writeFile(
      join(dir, 'compose.env'),
      Object.entries(settings)
        .map(([name, value]) => `${name}=${value}\n`)
        .join(''),
    )
    const app = {
      APP_ID: '1',
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: secret,
      GHE_HOST: gheHost,
      GHE_PROTOCOL: 'http',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug',
      MANAGER_API_TOKEN: randomBytes(16).toString('hex'),
      REDELIVERY_INTERVAL_SECONDS: '0',
    }
    const services = Object.fromEntries(
      ['devsys', 'worker-code', 'worker-deploy'].map((name) => [name, { environment: app }]),
    )
    await writeFile(join(dir, 'override.json'), JSON.stringify({ services }, null, 2))

    // Taken down whatever happens from here on (registered before `up`, which may half-succeed).
    closers.push(() => compose('down', '-v', '--remove-orphans', '--timeout', '5'))
    await compose('up', '-d', '--wait', '--wait-timeout', '150').catch(async (error: Error) => {
      throw new Error(`${error.message}\nThe stack's logs:\n${await logs()}`)
    })
    receiverUrl = `http://${await published('devsys', 3000)}`
    phpUrl = `http://${await published('php', 80)}`
  }, 240_000)

  afterAll(async () => {
    // Last registered, first closed: the stack, then the relays and servers, then the folders.
    for (const close of closers.reverse()) await close().catch(() => undefined)
    // Nothing of the project is left: no container, no volume.
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${project}`] },
    })
    expect(left).toEqual([])
    const volumes = await docker.listVolumes({
      filters: { label: [`com.docker.compose.project=${project}`] },
    })
    expect(volumes.Volumes ?? []).toEqual([])
  }, 120_000)

  it('runs every service healthy: postgres, redis, receiver, both worker pools, php', async () => {
    const { stdout } = await compose('ps', '--format', 'json')
    // Compose 2.26 prints one JSON object per line.
    const services = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { Service: string; Health: string; Name: string })
    expect(Object.fromEntries(services.map((s) => [s.Service, s.Health])), await logs()).toEqual({
      postgres: 'healthy',
      redis: 'healthy',
      devsys: 'healthy',
      'worker-code': 'healthy',
      'worker-deploy': 'healthy',
      php: 'healthy',
    })
    expect(services.find((s) => s.Service === 'php')?.Name).toBe(phpContainer)
    // The receiver serves the manager API; workers only their health check.
    expect((await httpRequest(`${receiverUrl}/api/health`)).json()).toEqual({ status: 'ok' })
  })

  it('takes a labelled issue to a pull request and `/deploy` to a page the php service serves', {
    timeout: 180_000,
  }, async () => {
    const seen = () => github.requests.map((r) => `  ${r.status} ${r.method} ${r.path}`).join('\n')
    // 1. A person labels an issue holding the blog's manifest: the receiver stores the job,
    //    the coding worker generates the blog, pushes its branch and opens the pull request.
    const issue = labeledIssuePayload(BLOG_MANIFEST, cloneUrl)
    expect((await sendWebhook('issues', issue)).status).toBe(200)
    await github
      .waitFor(`POST /repos/${OWNER}/${REPO}/pulls`, { timeoutMs: 90_000 })
      .catch(async (error: Error) => {
        throw new Error(`${error.message}\nThe stack's logs:\n${await logs()}`)
      })
    const [number] = [...repo.state.pulls.keys()]
    if (number === undefined) throw new Error(`no pull request in the fake:\n${seen()}`)

    // 2. `/deploy` on it: the receiver queues the command, the deploy worker deploys the PR's
    //    head into the php container and verifies it there.
    const world = { github, repo, cloneUrl }
    const comment = prCommentPayload(world, { pr: number, body: '/deploy', commentId: 4001 })
    expect((await sendWebhook('issue_comment', comment)).status).toBe(200)
    const deadline = Date.now() + 120_000
    let final: Record<string, unknown> | undefined
    while (final === undefined) {
      for (const d of repo.state.deployments.values()) {
        final ??= d.statuses.find((s) => ['success', 'failure', 'error'].includes(String(s.state)))
      }
      if (final !== undefined) break
      if (Date.now() > deadline) {
        throw new Error(`no deployment finished:\n${seen()}\nThe stack's logs:\n${await logs()}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(final, await logs()).toMatchObject({ state: 'success', environment_url: 'http://php' })

    // 3. The page, from the php service's published port.
    const page = await httpRequest(`${phpUrl}/post.php?id=1`)
    expect(page.status).toBe(200)
    expect(page.text).toContain('This is the first post.')

    // 4. Meanwhile the testing pool ran the PR's tests in the docker runner, through the host's
    //    engine, and passed them.
    const head = repo.state.pulls.get(number)?.head ?? ''
    await github
      .waitFor(
        (r) =>
          r.method === 'PATCH' &&
          repo.state.checkRuns.get(Number(r.params.check_run_id))?.name === TESTS_CHECK &&
          (r.body as { status?: string } | undefined)?.status === 'completed',
        { timeoutMs: 120_000 },
      )
      .catch(async (error: Error) => {
        throw new Error(`${error.message}\nThe stack's logs:\n${await logs()}`)
      })
    const checkRun = repo.checkRun(TESTS_CHECK)
    expect(checkRun, JSON.stringify(checkRun?.output)).toMatchObject({ conclusion: 'success' })
    expect(head).toBe('devsys/create-blog')

    // Each pool did its own part: generation and tests in the coding worker, the deploy in the
    // deploy worker, none of them in the receiver.
    const started = async (service: string) =>
      (await compose('logs', '--no-color', service)).stdout
        .split('\n')
        .filter((line) => line.includes('"msg":"Job started"'))
        .map((line) => /"kind":"([\w-]+)"/.exec(line)?.[1])
    expect(await started('worker-code')).toEqual(expect.arrayContaining(['generate', 'run-tests']))
    expect(await started('worker-deploy')).toContain('deploy')
    expect(await started('devsys')).toEqual([])
    expect(github.problems()).toEqual([])
  })
})

/** Commits `content` as `path` on main of the bare repository. */
function commitOnMain(remote: { root: string; bare: string }, path: string, content: string) {
  const work = join(remote.root, 'config-work')
  git(remote.root, 'clone', '-q', remote.bare, work)
  git(work, 'config', 'user.name', 'Mona')
  git(work, 'config', 'user.email', 'mona@example.com')
  git(work, 'checkout', '-q', 'main')
  const file = join(work, path)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, content)
  git(work, 'add', '-A')
  git(work, 'commit', '-q', '-m', `Add ${path}`)
  git(work, 'push', '-q', 'origin', 'main')
}
