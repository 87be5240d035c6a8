import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type ApiServer, startApiServer } from '../api/api-server.js'
import { nockCreateIssueComment, useGitHubMock } from '../helpers/github.js'
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

// A repository's `.github/devsys.yml` names where its environment answers; these tests aim it
// at DevSys's own manager API and at a private host, as a hostile repository would.
useGitHubMock()
let devsys: IntakeHarness | undefined
let api: ApiServer | undefined
let server: Server | undefined

afterEach(async () => {
  await devsys?.close()
  await api?.close()
  await new Promise((r) => (server ? server.close(r) : r(undefined)))
  devsys = api = server = undefined
})

const configFor = (url: string) =>
  ['environments:', '  production:', '    target: local', `    url: ${url}`, ''].join('\n')

/** Merges a version and mocks its deploy's GitHub side, with the repo config given. */
function merge(site: SiteRepo, deploymentId: number, config: string) {
  site.commit(BRANCH, page('v1'), 'site v1')
  const sha = site.merge(BRANCH)
  const mocks = nockDeploy({ deploymentId, statuses: 2, config, pulls: { sha, numbers: [PR] } })
  nockCreateIssueComment(OWNER, REPO, PR)
  return { sha, mocks }
}

describe('deploy verification only reaches what the server allows', () => {
  it("refuses a repo config url on DevSys's API port: the check run says why, nothing reaches the API", async () => {
    api = await startApiServer()
    devsys = await startIntake({ jobs: ['deploy'] })
    const site = new SiteRepo()
    await saveTask(devsys, site)
    const { sha, mocks } = merge(site, 901, configFor(api.url))

    await devsys.deliver('push', pushPayload(site, sha))

    const completed = await mocks.check?.completed
    expect(completed).toMatchObject({ conclusion: 'failure' })
    expect(completed?.output?.summary).toContain(
      "refused: 127.0.0.1 is a loopback address; only the environment's own target or hosts in ACCEPTANCE_ALLOWED_HOSTS may be checked",
    )
    expect(await mocks.statuses[1]).toMatchObject({ state: 'failure' })
    const [record] = await devsys.store.listDeployments({ environment: 'production', limit: 1 })
    expect(record).toMatchObject({ commitSha: sha, state: 'failure' })
    expect(api.requests).toEqual([])
  })

  it('reaches a loopback url once the server lists it in ACCEPTANCE_ALLOWED_HOSTS', async () => {
    const hits: string[] = []
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`)
      res.writeHead(200).end('Hello from DevSys: v1')
    })
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    devsys = await startIntake({ jobs: ['deploy'], env: { ACCEPTANCE_ALLOWED_HOSTS: '127.0.0.1' } })
    const site = new SiteRepo()
    await saveTask(devsys, site)
    const { sha, mocks } = merge(site, 902, configFor(url))

    await devsys.deliver('push', pushPayload(site, sha))

    expect(await mocks.check?.completed).toMatchObject({ conclusion: 'success' })
    expect(await mocks.statuses[1]).toMatchObject({ state: 'success', environment_url: url })
    expect(hits).toEqual(['GET /'])
  })
})
