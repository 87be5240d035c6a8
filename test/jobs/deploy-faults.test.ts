import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadEnv } from '../../src/config/load-env.js'
import { createTargets, localDeployRoot } from '../../src/deploy/create-target.js'
import { resolveDeployRoot } from '../../src/deploy/resolve-deploy-root.js'
import { type PhpServe, servePhp } from '../../src/deploy/serve-local.js'
import { RELEASE_MARKER } from '../../src/deploy/targets/release-plan.js'
import { createSshTarget } from '../../src/deploy/targets/ssh-target.js'
import type { Queue } from '../../src/queue/queue.js'
import { openSqliteJobStore } from '../../src/queue/sqlite-job-store.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { hostTempReleaseExists, startCuttingProxy, tempReleases } from '../deploy/cutting-proxy.js'
import { loopbackDocker } from '../helpers/docker-loopback.js'
import {
  type GitHubRequest,
  nockCreateIssueComment,
  nockDeploymentStatus,
  nockUpdateIssueComment,
  testLogger,
  useGitHubMock,
} from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { requireDocker, requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { type IntakeHarness, type IntakeOptions, startIntake } from '../intake/harness.js'
import {
  BRANCH,
  nockDeploy,
  OWNER,
  PR,
  page,
  pushPayload,
  REPO,
  SiteRepo,
  saveTask,
} from './deploy-fixture.js'

// Issue 5, item 10: after each fault the live site still serves a complete release, the
// environment's deploy lock is free, and the GitHub deployment's status is terminal. Failing
// verification is covered in deploy.test.ts.

useGitHubMock()
const hasPhp = requireTool('php', 'serves the deployed sites for real HTTP checks')
const hasSshd = await requireSshd('the ssh target is deployed to through a real sshd')
const hasDocker = await requireDocker('the php target asks a real Docker engine for its container')
const canMount = canMountTmpfs('disk full is a real 1 MiB tmpfs under the local target')

const ENV_KEY = `${OWNER}/${REPO}:production`
// The two end-to-end tests below run whole deploys through real processes: about 20 s on an
// idle machine, several times that on a loaded CI runner. They check what happened, not how
// fast, so their budget is generous rather than the suite's 30 s.
const E2E_TIMEOUT_MS = 150_000
let site: SiteRepo
let devsys: IntakeHarness | undefined

beforeEach(() => {
  site = new SiteRepo()
})
afterEach(async () => {
  await devsys?.close()
  devsys = undefined
  rmSync(site.root, { recursive: true, force: true })
})

async function start(opts: IntakeOptions = {}): Promise<IntakeHarness> {
  devsys = await startIntake({ jobs: ['deploy'], ...opts })
  return devsys
}

/**
 * Merges a version of the site (its page plus `files`) and mocks its deploy's GitHub side:
 * repo config, merged PR, deployment with `in_progress` and a terminal status, and the
 * acceptance check run unless `verified` is false.
 */
function mergeVersion(
  text: string,
  deploymentId: number,
  opts: { files?: Record<string, string>; config?: string; verified?: boolean } = {},
) {
  site.commit(BRANCH, { ...page(text), ...opts.files }, `site ${text}`)
  const sha = site.merge(BRANCH)
  const mocks = nockDeploy({
    deploymentId,
    statuses: 2,
    pulls: { sha, numbers: [PR] },
    ...(opts.verified === false ? { checkRun: null } : {}),
    ...(opts.config === undefined ? {} : { config: opts.config }),
  })
  return { sha, tree: site.sha(`${sha}^{tree}`), mocks }
}

/** The environment's deploy lock can be taken by someone else, i.e. nobody holds it. */
async function expectLockFree(store: Store): Promise<void> {
  expect(await store.acquireDeployLock(ENV_KEY, 'probe', 'fault test', 60_000)).toEqual({
    acquired: true,
  })
  expect(await store.releaseDeployLock(ENV_KEY, 'probe')).toBe(true)
}

async function newestRecord(store: Store) {
  const [record] = await store.listDeployments({ environment: 'production', limit: 1 })
  return record
}

async function lastDeployJob(queue: Pick<Queue, 'listJobs'>) {
  return (await queue.listJobs({ kind: 'deploy' })).at(-1)
}

/** The release a `current` link on disk points at. */
function linkedRelease(root: string): string {
  return basename(readlinkSync(join(root, 'current')))
}

async function live(url: string): Promise<string> {
  return (await httpRequest(url)).text
}

describe.skipIf(!hasSshd || !hasPhp)('fault: the SSH connection drops mid-upload', () => {
  let dir: string
  let sshd: Sshd
  let hostBase: string
  let host: string
  let knownHosts: string
  let served: PhpServe
  let proxy: Awaited<ReturnType<typeof startCuttingProxy>>
  // Where DevSys's SSH connections go: through the proxy that cuts them, or straight to sshd;
  // and the release whose upload the proxy cuts, once the host is unpacking it.
  const network: { port: number; cutRelease?: string } = { port: 0 }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'devsys-faults-ssh-'))
    mkdirSync(join(dir, 'sshd'))
    sshd = await startSshd(join(dir, 'sshd'))
    // Cuts a connection once the host has made the temp folder of the release to cut, so the
    // cut always lands mid-upload (not before the host started, not after it finished).
    proxy = await startCuttingProxy(sshd.port, {
      when: () =>
        network.cutRelease !== undefined && hostTempReleaseExists(host, network.cutRelease),
    })
    knownHosts = join(dir, 'known_hosts')
    writeFileSync(
      knownHosts,
      `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}\n`,
    )
    hostBase = join(dir, 'host')
    // The repository's own folder on the host, below the server's folder for ssh deploys.
    host = join(hostBase, OWNER, REPO, 'production')
    mkdirSync(host, { recursive: true })
    // The host is this machine: php -S serves its live release, for verification and for us.
    served = await servePhp(host)
  }, 60_000)
  afterAll(async () => {
    await served?.stop()
    await proxy?.stop()
    await sshd?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** The environment as the repo config describes it: ssh to sshd, served at `served.url`. */
  const config = () =>
    [
      'environments:',
      '  production:',
      '    target: ssh',
      `    url: ${served.url}`,
      `    ssh: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.username} }`,
      '',
    ].join('\n')

  it(
    'fails the deploy (status failure, record failure), keeps v1 live and the lock free; the next deploy succeeds',
    async () => {
      network.port = proxy.port
      const d = await start({
        // The repo config's url is this machine's loopback: only the server's allow-list admits it.
        env: { ACCEPTANCE_ALLOWED_HOSTS: '127.0.0.1' },
        // DevSys's ssh target built from the environment's settings, with the test's key.
        targets: async ({ repo, environment, config: env }, log) => {
          if (env.ssh === undefined) throw new Error('the test config has no ssh settings')
          const placed = resolveDeployRoot(hostBase, repo, environment, env.ssh.path)
          if (!placed.ok) throw new Error(placed.message)
          return createSshTarget({
            host: env.ssh.host,
            port: network.port,
            username: env.ssh.user,
            privateKeyPath: sshd.privateKeyPath,
            knownHostsPath: knownHosts,
            root: placed.root,
            shared: env.shared,
            log,
            ...(env.url === undefined ? {} : { url: env.url }),
          })
        },
      })
      await saveTask(d, site)

      // v1 goes live through the proxy (not the release to cut).
      const v1 = mergeVersion('v1', 701, { config: config() })
      const comment = nockCreateIssueComment(OWNER, REPO, PR)
      await d.deliver('push', pushPayload(site, v1.sha))
      expect(await v1.mocks.statuses[1]).toMatchObject({ state: 'success' })
      expect(await comment.body).toBeDefined()
      expect(linkedRelease(host)).toBe(v1.tree)
      expect(proxy.cuts()).toBe(0)

      // v2 carries 4 MiB of incompressible text, twice an SSH channel window: the connection
      // is cut once the host is unpacking it, with most of it still to come.
      const big = randomBytes(3 * 1024 * 1024).toString('base64')
      const v2 = mergeVersion('v2', 702, {
        files: { 'public/big.txt': big },
        config: config(),
        verified: false,
      })
      network.cutRelease = v2.tree
      const failed = nockUpdateIssueComment(OWNER, REPO, 1001)
      await d.deliver('push', pushPayload(site, v2.sha))

      expect(proxy.cuts()).toBe(1)
      expect(await v2.mocks.statuses[0]).toMatchObject({ state: 'in_progress' })
      const status = await v2.mocks.statuses[1]
      expect(status).toMatchObject({ state: 'failure' })
      expect(status?.description).toMatch(/^The SSH connection to .*127\.0\.0\.1:.* failed/)
      expect((await failed.body).body).toContain('The SSH connection to')
      expect(await newestRecord(d.store)).toMatchObject({
        commitSha: v2.sha,
        githubDeploymentId: 702,
        state: 'failure',
        error: expect.stringMatching(/SSH connection .* failed/),
        finishedAt: expect.any(String),
      })
      expect((await lastDeployJob(d.queue))?.outcome).toMatchObject({
        status: 'rejected',
        reason: 'upload-failed',
      })
      // The host still serves v1, complete: the link on disk, its marker, and over HTTP.
      expect(linkedRelease(host)).toBe(v1.tree)
      const marker = readFileSync(join(host, 'current', RELEASE_MARKER), 'utf8')
      expect(marker).toContain('public/index.php')
      expect(marker).not.toContain('big.txt')
      expect(await live(served.url)).toBe('Hello from DevSys: v1')
      // v2 never appeared as a release; only its temp folder is left, for the next deploy to clear.
      expect(existsSync(join(host, 'releases', v2.tree))).toBe(false)
      expect(tempReleases(host)).toEqual([expect.stringMatching(new RegExp(`^\\.tmp-${v2.tree}-`))])
      await expectLockFree(d.store)

      // The network is back: the next merge deploys (big file and all) and goes live.
      network.port = sshd.port
      const v3 = mergeVersion('v3', 703, { config: config() })
      const inactive = nockDeploymentStatus(OWNER, REPO, 701).body
      nockUpdateIssueComment(OWNER, REPO, 1001)
      await d.deliver('push', pushPayload(site, v3.sha))
      expect(await v3.mocks.statuses[1]).toMatchObject({ state: 'success' })
      expect(await inactive).toMatchObject({ state: 'inactive' })
      expect(linkedRelease(host)).toBe(v3.tree)
      expect(await live(served.url)).toBe('Hello from DevSys: v3')
      expect(readFileSync(join(host, 'current/public/big.txt'), 'utf8')).toBe(big)
      expect(readdirSync(join(host, 'releases')).filter((n) => n.startsWith('.tmp-'))).toEqual([])
      await expectLockFree(d.store)
    },
    E2E_TIMEOUT_MS,
  )
})

describe.skipIf(!hasDocker)('fault: the php target container is gone', () => {
  let dir: string
  let engine: Awaited<ReturnType<typeof loopbackDocker>>
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'devsys-faults-php-'))
    engine = await loopbackDocker()
  })
  afterAll(async () => {
    await engine?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('fails the deploy with a status naming the container; the record is failure and the lock free', async () => {
    const container = `devsys-gone-${randomBytes(4).toString('hex')}`
    const loaded = loadEnv({ DATA_DIR: dir })
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
    // DevSys's own targets, with a Docker client that goes through the loopback relay.
    const targets = createTargets({
      dataDir: dir,
      deploy: loaded.config.deploy,
      docker: engine.docker,
      log: testLogger(),
    })
    const d = await start({ targets: targets.targetFor })
    await saveTask(d, site)
    const config = [
      'environments:',
      '  production:',
      '    target: php',
      `    php: { container: ${container} }`,
      '',
    ].join('\n')
    const v1 = mergeVersion('v1', 801, { config, verified: false })
    const comment = nockCreateIssueComment(OWNER, REPO, PR)
    await d.deliver('push', pushPayload(site, v1.sha))

    expect(await v1.mocks.statuses[0]).toMatchObject({ state: 'in_progress' })
    const status = await v1.mocks.statuses[1]
    expect(status).toMatchObject({ state: 'failure' })
    expect(status?.description).toContain(`The container ${container} is gone`)
    expect((await comment.body).body).toContain(`The container ${container} is gone`)
    expect(await newestRecord(d.store)).toMatchObject({
      commitSha: v1.sha,
      githubDeploymentId: 801,
      state: 'failure',
      error: expect.stringContaining(container),
    })
    expect((await lastDeployJob(d.queue))?.outcome).toMatchObject({
      status: 'rejected',
      reason: 'not-found',
    })
    await expectLockFree(d.store)
  })
})

describe.skipIf(!hasPhp || !canMount)('fault: the target disk is full', () => {
  let mounted: string | undefined
  afterEach(() => {
    if (mounted !== undefined) unmount(mounted)
    mounted = undefined
  })

  it('fails with no-space (status failure, record failure), keeps serving v1 and frees the lock', async () => {
    const d = await start()
    // DevSys's own local target, on a 1 MiB file system.
    const root = localDeployRoot(d.dataDir, `${OWNER}/${REPO}`, 'production')
    mkdirSync(root, { recursive: true })
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root])
    mounted = root
    await saveTask(d, site)

    const v1 = mergeVersion('v1', 901)
    nockCreateIssueComment(OWNER, REPO, PR)
    await d.deliver('push', pushPayload(site, v1.sha))
    const url = (await v1.mocks.statuses[1])?.environment_url as string
    expect(await live(url)).toBe('Hello from DevSys: v1')

    const v2 = mergeVersion('v2', 902, {
      files: { 'public/huge.txt': 'z'.repeat(2 * 1024 * 1024) },
      verified: false,
    })
    const failed = nockUpdateIssueComment(OWNER, REPO, 1001)
    await d.deliver('push', pushPayload(site, v2.sha))

    const status = await v2.mocks.statuses[1]
    expect(status).toMatchObject({ state: 'failure' })
    expect(status?.description).toMatch(/^no space left in .* while copying/)
    expect((await failed.body).body).toContain('no space left in')
    expect(await newestRecord(d.store)).toMatchObject({
      commitSha: v2.sha,
      githubDeploymentId: 902,
      state: 'failure',
      error: expect.stringContaining('no space left'),
    })
    expect((await lastDeployJob(d.queue))?.outcome).toMatchObject({
      status: 'rejected',
      reason: 'no-space',
    })
    expect(linkedRelease(root)).toBe(v1.tree)
    expect(await live(url)).toBe('Hello from DevSys: v1')
    // Nothing half-written is left to fill the disk: v1 is the only release.
    expect(execFileSync('ls', ['-A', join(root, 'releases')], { encoding: 'utf8' }).trim()).toBe(
      v1.tree,
    )
    await expectLockFree(d.store)
  })
})

const CHILD = fileURLToPath(new URL('./deploy-faults-child.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

describe.skipIf(!hasPhp)('fault: DevSys crashes between upload and switch', () => {
  let dataDir: string
  let child: ChildProcess | undefined
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'devsys-faults-crash-'))
  })
  afterEach(async () => {
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    child = undefined
    await devsys?.close()
    devsys = undefined
    rmSync(dataDir, { recursive: true, force: true })
  })

  /** Runs the crashing DevSys process on `dataDir` and resolves with how it ended. */
  function runCrashingDevSys(input: object) {
    const inputFile = join(dataDir, 'crash-input.json')
    writeFileSync(inputFile, JSON.stringify(input))
    // The child is a plain Node process, not a vitest worker.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')),
    )
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, inputFile], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = proc
    let stdout = ''
    let stderr = ''
    proc.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    // Only against a child that hangs: it must not cut a slow (loaded) child short.
    const guard = setTimeout(() => proc.kill('SIGKILL'), E2E_TIMEOUT_MS - 10_000)
    return new Promise<{ signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
      (resolve) => {
        proc.once('exit', (_code, signal) => {
          clearTimeout(guard)
          resolve({ signal, stdout, stderr })
        })
      },
    )
  }

  it(
    'the next DevSys process closes the dead attempt (record and status error) and deploys; current never pointed at an incomplete release',
    async () => {
      const root = localDeployRoot(dataDir, `${OWNER}/${REPO}`, 'production')

      // 1. A DevSys process deploys v1, then stops.
      let d = await start({ dataDir })
      await saveTask(d, site)
      const v1 = mergeVersion('v1', 501)
      nockCreateIssueComment(OWNER, REPO, PR)
      await d.deliver('push', pushPayload(site, v1.sha))
      expect(await v1.mocks.statuses[1]).toMatchObject({ state: 'success' })
      await d.close()
      devsys = undefined

      // 2. Another DevSys process receives the push of v2 and is killed between upload and switch.
      site.commit(BRANCH, page('v2'), 'site v2')
      const v2sha = site.merge(BRANCH)
      const v2tree = site.sha(`${v2sha}^{tree}`)
      const crash = await runCrashingDevSys({
        payload: pushPayload(site, v2sha),
        sha: v2sha,
        deploymentId: 502,
      })
      const line = /^crashing (.*)$/m.exec(crash.stdout)?.[1]
      if (line === undefined) {
        throw new Error(
          `the DevSys process did not reach the switch:\n${crash.stdout}${crash.stderr}`,
        )
      }
      expect(crash.signal).toBe('SIGKILL')
      const atCrash = JSON.parse(line) as {
        releaseId: string
        state: { current: string | null; releases: string[] }
        github: string
        requests: GitHubRequest[]
      }
      // The kill came with v2 uploaded complete and v1 still live.
      expect(atCrash.releaseId).toBe(v2tree)
      expect(atCrash.state).toEqual({ current: v1.tree, releases: [v2tree, v1.tree] })
      // Everything the dead process sent GitHub was mocked and valid per GitHub's description.
      expect(atCrash.github).toBe('clean')
      expect(
        atCrash.requests
          .filter((r) => r.path.includes('/deployments'))
          .map((r) => [r.method, r.path, (r.body as { state?: string }).state]),
      ).toEqual([
        ['POST', `/repos/${OWNER}/${REPO}/deployments`, undefined],
        ['POST', `/repos/${OWNER}/${REPO}/deployments/502/statuses`, 'in_progress'],
      ])

      // 3. What the crash left: v1 live and complete, v2 complete beside it, the record open.
      expect(linkedRelease(root)).toBe(v1.tree)
      const marker = (id: string) =>
        JSON.parse(readFileSync(join(root, 'releases', id, RELEASE_MARKER), 'utf8')) as {
          id: string
        }
      expect(marker(v1.tree).id).toBe(v1.tree)
      expect(marker(v2tree).id).toBe(v2tree)
      const store = openSqliteStore({ dataDir })
      const jobs = openSqliteJobStore({ dataDir })
      const dead = await newestRecord(store)
      const job = await jobs.getJob(dead?.jobId ?? '')
      expect(dead).toMatchObject({
        commitSha: v2sha,
        state: 'in_progress',
        githubDeploymentId: 502,
      })
      expect(job).toMatchObject({ kind: 'deploy', state: 'running', attempts: 1 })
      // The dead attempt still holds the lock (ttl 0: a probe that won would not keep it).
      expect(await store.acquireDeployLock(ENV_KEY, 'probe', 'fault test', 0)).toMatchObject({
        acquired: false,
        holder: { owner: `job:${job?.id}` },
      })
      await jobs.close()
      await store.close()

      // 4. DevSys starts again on the same DATA_DIR: the expired job is retried.
      const closed = nockDeploymentStatus(OWNER, REPO, 502).body
      const redeploy = nockDeploy({
        deploymentId: 503,
        statuses: 2,
        pulls: { sha: v2sha, numbers: [PR] },
      })
      const inactive = nockDeploymentStatus(OWNER, REPO, 501).body
      nockUpdateIssueComment(OWNER, REPO, 1001)
      d = await start({ dataDir })
      await d.queue.drain()

      expect(await closed).toMatchObject({
        state: 'error',
        description: expect.stringContaining('DevSys stopped during this deploy'),
      })
      expect(await d.store.getDeployment(dead?.id ?? 0)).toMatchObject({
        state: 'error',
        error: expect.stringContaining('its process ended'),
        finishedAt: expect.any(String),
      })
      expect(await redeploy.statuses[0]).toMatchObject({ state: 'in_progress' })
      const success = await redeploy.statuses[1]
      expect(success).toMatchObject({ state: 'success' })
      expect(await redeploy.check?.completed).toMatchObject({ conclusion: 'success' })
      expect(await inactive).toMatchObject({ state: 'inactive' })
      expect(await newestRecord(d.store)).toMatchObject({
        commitSha: v2sha,
        githubDeploymentId: 503,
        state: 'success',
        jobId: job?.id,
      })
      expect(await d.queue.getJob(job?.id ?? '')).toMatchObject({
        state: 'done',
        attempts: 2,
        lastError: expect.stringContaining('stopped (crash or kill) during attempt 1'),
        // The upload the dead process finished is reused: the retry only switches.
        outcome: { details: { alreadyThere: true, sent: 0 } },
      })
      expect(linkedRelease(root)).toBe(v2tree)
      expect(await live(success?.environment_url as string)).toBe('Hello from DevSys: v2')
      await expectLockFree(d.store)
    },
    E2E_TIMEOUT_MS,
  )
})

/**
 * Whether this process can mount a tmpfs (it needs root). Under CI=true it must (CI runs as
 * root, and no test may pass by skipping); elsewhere the test is skipped and the reason printed.
 */
function canMountTmpfs(why: string): boolean {
  let problem: string | undefined
  if (process.getuid?.() !== 0) problem = 'mounting a tmpfs needs root'
  else {
    const probe = mkdtempSync(join(tmpdir(), 'devsys-mount-probe-'))
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' })
      execFileSync('umount', [probe])
    } catch (error) {
      problem = `mount -t tmpfs failed (${(error as Error).message.trim()})`
    } finally {
      rmSync(probe, { recursive: true, force: true })
    }
  }
  if (problem === undefined) return true
  if (process.env.CI === 'true') {
    throw new Error(`a tmpfs mount is needed and CI must run every test: ${why}; ${problem}`)
  }
  process.stderr.write(`skipping the disk-full deploy test: ${why}; ${problem}\n`)
  return false
}

/** Unmounts; lazily if something (a php -S request) still has a file open there. */
function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' })
  } catch {
    execFileSync('umount', ['-l', dir])
  }
}
