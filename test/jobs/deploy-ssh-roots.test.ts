import { randomBytes } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadEnv } from '../../src/config/load-env.js'
import { type EnvironmentConfig, parseRepoConfig } from '../../src/config/load-repo-config.js'
import { createTargets, type Targets } from '../../src/deploy/create-target.js'
import { type PhpServe, servePhp } from '../../src/deploy/serve-local.js'
import {
  nockCommitPulls,
  nockCreateIssueComment,
  nockGetBranch,
  nockGetContent,
  testLogger,
  useGitHubMock,
} from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { type IntakeHarness, startIntake } from '../intake/harness.js'
import {
  BRANCH,
  CONFIG,
  nockDeploy,
  OWNER,
  PR,
  page,
  pushPayload,
  REPO,
  SiteRepo,
  saveTask,
} from './deploy-fixture.js'

// Security issue, item 7: repositories sharing an ssh host never reach each other's files. The
// server's EXTERNAL_DEPLOY_SSH_ALLOW says which repository may use which host, and gives each
// repository its own folder there, whatever path its .github/devsys.yml names.

useGitHubMock()
const hasPhp = requireTool('php', 'serves the deployed site for a real HTTP check')
const hasSshd = await requireSshd('the ssh target is deployed to through a real sshd')

describe.skipIf(!hasSshd || !hasPhp)(
  'ssh deploys: one folder per repository on a shared host',
  () => {
    let dir: string
    let sshd: Sshd
    let knownHosts: string
    /** The folder the server gives ssh deploys on the host (the allow-list entry's folder). */
    let hostBase: string
    /** This repository's production folder on the host. */
    let siteRoot: string
    let served: PhpServe
    let site: SiteRepo
    let devsys: IntakeHarness | undefined

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'devsys-ssh-roots-'))
      mkdirSync(join(dir, 'sshd'))
      sshd = await startSshd(join(dir, 'sshd'))
      knownHosts = join(dir, 'known_hosts')
      writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`)
      hostBase = join(dir, 'host')
      siteRoot = join(hostBase, OWNER, REPO, 'production')
      mkdirSync(siteRoot, { recursive: true })
      // The host is this machine: php -S serves the repository's folder, as its web server would.
      served = await servePhp(siteRoot)
    }, 60_000)
    afterAll(async () => {
      await served?.stop()
      await sshd?.stop()
      rmSync(dir, { recursive: true, force: true })
    })
    beforeEach(() => {
      site = new SiteRepo()
    })
    afterEach(async () => {
      await devsys?.close()
      devsys = undefined
      rmSync(site.root, { recursive: true, force: true })
    })

    /** DevSys's environment: its key, known_hosts, and the allow-list under test. */
    const serverEnv = (allow: string): Record<string, string> => ({
      EXTERNAL_DEPLOY_SSH_KEY_PATH: sshd.privateKeyPath,
      EXTERNAL_DEPLOY_KNOWN_HOSTS: knownHosts,
      EXTERNAL_DEPLOY_SSH_ALLOW: allow,
      // The repo config's url is this machine's loopback: only the server's allow-list admits it.
      ACCEPTANCE_ALLOWED_HOSTS: '127.0.0.1',
    })

    /** The environment as a repository writes it: the shared host, and `path` if given. */
    const config = (path?: string) =>
      [
        'environments:',
        '  production:',
        '    target: ssh',
        `    url: ${served.url}`,
        `    ssh: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.username}${path === undefined ? '' : `, path: ${path}`} }`,
        '',
      ].join('\n')

    it('lands in <folder>/<owner>/<repo>/<env>; another repository with the same settings lands in its own folder', async () => {
      const allow = `${OWNER}/*=${sshd.username}@127.0.0.1:${sshd.port}${hostBase}`
      devsys = await startIntake({ jobs: ['deploy'], env: serverEnv(allow) })
      await saveTask(devsys, site)
      site.commit(BRANCH, page('v1'), 'v1')
      const sha = site.merge(BRANCH)
      const mocks = nockDeploy({
        deploymentId: 1201,
        statuses: 2,
        config: config(),
        pulls: { sha, numbers: [PR] },
      })
      nockCreateIssueComment(OWNER, REPO, PR)
      await devsys.deliver('push', pushPayload(site, sha))

      expect(await mocks.statuses[1]).toMatchObject({
        state: 'success',
        environment_url: served.url,
      })
      const tree = site.sha(`${sha}^{tree}`)
      expect(readlinkSync(join(siteRoot, 'current'))).toBe(`releases/${tree}`)
      expect((await httpRequest(`${served.url}/`)).text).toBe('Hello from DevSys: v1')
      // Nothing outside the repository's folder: the host's folder holds only owners.
      expect(readdirSync(hostBase)).toEqual([OWNER])

      // A second repository of the same owner, configured with the same host (and a path that
      // tries to climb out), is refused the climb and otherwise deploys to its own folder.
      const loaded = loadEnv({ ...serverEnv(allow), DATA_DIR: join(dir, 'data') })
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
      const targets = createTargets({
        dataDir: join(dir, 'data'),
        deploy: loaded.config.deploy,
        log: testLogger(),
      })
      const other = `${OWNER}/other-site`
      const climbing = parseRepoConfig(config('../hello-world/production'))
      expect(climbing).toMatchObject({
        ok: false,
        problems: [expect.objectContaining({ pointer: '/environments/production/ssh/path' })],
      })
      const same = parseRepoConfig(config())
      if (!same.ok) throw new Error(JSON.stringify(same.problems))
      const env = same.config.environments.production
      if (env === undefined) throw new Error('no production environment')
      const target = await targetForOther(targets, other, env)
      try {
        const release = join(dir, 'other-release')
        mkdirSync(join(release, 'public'), { recursive: true })
        writeFileSync(join(release, 'public/index.php'), "<?php echo 'other site';")
        const id = randomBytes(20).toString('hex')
        await target.upload(
          { id, dir: release },
          { signal: new AbortController().signal, log: testLogger() },
        )
        await target.activate(id)
      } finally {
        await target.close()
        await targets.close()
      }
      const otherRoot = join(hostBase, OWNER, 'other-site', 'production')
      expect(existsSync(join(otherRoot, 'current/public/index.php'))).toBe(true)
      // The first repository's site is untouched.
      expect(readlinkSync(join(siteRoot, 'current'))).toBe(`releases/${tree}`)
      expect(readdirSync(join(siteRoot, 'releases'))).toEqual([tree])
      expect((await httpRequest(`${served.url}/`)).text).toBe('Hello from DevSys: v1')
    })

    it('refuses a host the allow-list does not give the repository, naming the entry to add', async () => {
      // The host is allowed, but for another repository only.
      const allow = `someone/else=${sshd.username}@127.0.0.1:${sshd.port}${hostBase}`
      devsys = await startIntake({ jobs: ['deploy'], env: serverEnv(allow) })
      await saveTask(devsys, site)
      site.commit(BRANCH, page('v9'), 'v9')
      const sha = site.merge(BRANCH)
      // The job reads the config, finds the target refused, and says so on the PR: no deployment.
      nockGetBranch(OWNER, REPO, 'main', sha)
      nockGetContent(OWNER, REPO, CONFIG, null, config())
      nockCommitPulls(OWNER, REPO, sha, [PR])
      const comment = nockCreateIssueComment(OWNER, REPO, PR)
      const before = readdirSync(siteRoot).sort()
      await devsys.deliver('push', pushPayload(site, sha))

      const body = (await comment.body).body
      expect(body).toContain(
        `${OWNER}/${REPO} may not deploy to ${sshd.username}@127.0.0.1:${sshd.port}`,
      )
      expect(body).toContain(
        `${OWNER}/${REPO}=${sshd.username}@127.0.0.1:${sshd.port}/<folder on the host>`,
      )
      const [job] = (await devsys.queue.listJobs({ kind: 'deploy' })).slice(-1)
      expect(job?.outcome).toMatchObject({
        status: 'rejected',
        reason: 'target-unavailable',
        summary: expect.stringContaining('EXTERNAL_DEPLOY_SSH_ALLOW'),
      })
      // Nothing was written on the host.
      expect(readdirSync(siteRoot).sort()).toEqual(before)
      expect(readdirSync(hostBase)).toEqual([OWNER])
    })
  },
)

/** The target DevSys builds for `repo`'s production environment. */
function targetForOther(targets: Targets, repo: string, config: EnvironmentConfig) {
  return targets.targetFor({ repo, environment: 'production', config }, testLogger())
}
