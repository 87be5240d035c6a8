import Dockerode from 'dockerode'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { execInContainer } from '../../src/deploy/targets/docker-exec.js'
import { requirePhpApacheImage, startPhpApache } from '../deploy/php-apache-container.js'
import { loopbackDocker } from '../helpers/docker-loopback.js'
import {
  nockBotIdentity,
  nockCreateIssueComment,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { type IntakeHarness, startIntake } from '../intake/harness.js'
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

const hasImage = await requirePhpApacheImage(
  'the php deploy target is an Apache + PHP container driven through the Docker engine',
)

useGitHubMock()
let site: SiteRepo
let devsys: IntakeHarness
let php: Awaited<ReturnType<typeof startPhpApache>>
let engine: Awaited<ReturnType<typeof loopbackDocker>>

describe.skipIf(!hasImage)('deploy job (php target: a real Apache + PHP container)', () => {
  beforeAll(async () => {
    // The container serves one site, the one its operator assigned: this repository's production.
    php = await startPhpApache(new Dockerode(), undefined, true, `${OWNER}/${REPO}/production`)
    engine = await loopbackDocker()
  })
  afterAll(async () => {
    await php?.remove()
    await engine?.close()
  })
  beforeEach(async () => {
    site = new SiteRepo()
    devsys = await startIntake({
      jobs: ['deploy', 'revert'],
      docker: engine.docker,
      // The repo config names the container's loopback URL, which only the server may allow.
      env: { ACCEPTANCE_ALLOWED_HOSTS: '127.0.0.1' },
    })
  })
  afterEach(async () => {
    await devsys.close()
  })

  it('merges go live in the container through the Docker engine; a failing one is switched back and reverted', async () => {
    const config = [
      'environments:',
      '  production:',
      '    target: php',
      `    url: ${php.url}`,
      `    php: { container: ${php.name} }`,
      '',
    ].join('\n')
    await saveTask(devsys, site)
    site.commit(BRANCH, page('v1'), 'v1')
    const good = site.merge(BRANCH)
    const first = nockDeploy({
      deploymentId: 801,
      statuses: 2,
      config,
      pulls: { sha: good, numbers: [PR] },
    })
    nockCreateIssueComment(OWNER, REPO, PR)
    await devsys.deliver('push', pushPayload(site, good))

    expect(await first.statuses[1]).toMatchObject({ state: 'success', environment_url: php.url })
    expect((await httpRequest(`${php.url}/`)).text).toBe('Hello from DevSys: v1')
    // The release sits in the repository's own folder, which is what Apache serves.
    const tree = site.sha(`${good}^{tree}`)
    expect(await inContainer(php.name, ['readlink', `${SITE_ROOT}/current`])).toBe(
      `releases/${tree}`,
    )
    expect(await inContainer(php.name, ['ls', '/var/www/devsys/releases'])).toBe('')

    site.commit(BRANCH, { 'public/index.php': '<?php http_response_code(500);\n' }, 'break it')
    const bad = site.merge(BRANCH)
    const second = nockDeploy({
      deploymentId: 802,
      statuses: 2,
      config,
      pulls: { sha: bad, numbers: [PR] },
    })
    nockUpdateIssueComment(OWNER, REPO, 1001)
    nockBotIdentity()
    nockCreateIssueComment(OWNER, REPO, PR, { id: 1002 })
    await devsys.deliver('push', pushPayload(site, bad))

    expect(await second.check?.completed).toMatchObject({ conclusion: 'failure' })
    expect(await second.statuses[1]).toMatchObject({ state: 'failure' })
    // Apache follows the switch back at once: the good release answers again.
    const answer = await httpRequest(`${php.url}/`)
    expect(answer.status).toBe(200)
    expect(answer.text).toBe('Hello from DevSys: v1')
    expect(site.log('main')).toContain(`This reverts commit ${bad}.`)
    expect(await devsys.store.listDeployments({})).toMatchObject([
      { commitSha: bad, state: 'failure', bad: true },
      { commitSha: good, state: 'success', url: php.url },
    ])
  })

  it("refuses to deploy into a container that serves another repository's site", async () => {
    const other = await startPhpApache(
      new Dockerode(),
      undefined,
      true,
      'octo-org/other/production',
    )
    try {
      const config = [
        'environments:',
        '  production:',
        '    target: php',
        `    url: ${other.url}`,
        `    php: { container: ${other.name} }`,
        '',
      ].join('\n')
      await saveTask(devsys, site)
      site.commit(BRANCH, page('mine'), 'mine')
      const sha = site.merge(BRANCH)
      const mocks = nockDeploy({
        deploymentId: 811,
        statuses: 2,
        config,
        checkRun: null,
        pulls: { sha, numbers: [PR] },
      })
      const comment = nockCreateIssueComment(OWNER, REPO, PR)
      await devsys.deliver('push', pushPayload(site, sha))

      const status = await mocks.statuses[1]
      expect(status).toMatchObject({ state: 'failure' })
      expect(status?.description).toContain(
        `The container ${other.name} serves octo-org/other/production, not ${OWNER}/${REPO}/production`,
      )
      expect((await comment.body).body).toContain('DEVSYS_SITE=')
      // Nothing of this repository was written into the other site's container.
      expect(await inContainer(other.name, ['ls', '/var/www/devsys'])).not.toContain(OWNER)
      expect((await httpRequest(`${other.url}/`)).status).toBe(404)
    } finally {
      await other.remove()
    }
  })
})

/** Where DevSys puts this repository's production releases in the container. */
const SITE_ROOT = `/var/www/devsys/${OWNER}/${REPO}/production`

/**
 * Runs argv in the container and returns its trimmed stdout, through the loopback relay (nock
 * would otherwise take the Docker socket's hijacked exec stream).
 */
async function inContainer(name: string, argv: string[]): Promise<string> {
  const { stdout } = await execInContainer(engine.docker, engine.docker.getContainer(name), argv)
  return stdout.trim()
}
