import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createDeployJob } from '../../src/jobs/deploy.js'
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js'
import type { Job } from '../../src/queue/queue.js'
import type { DeployPayload } from '../../src/triggers/job-payloads.js'
import {
  createTestProbot,
  nockCreateIssueComment,
  nockDeploymentStatus,
  testLogger,
  useGitHubMock,
} from '../helpers/github.js'
import { tempDir } from '../store/support.js'

useGitHubMock()
let tmp: ReturnType<typeof tempDir>
let store: SqliteStore
beforeEach(() => {
  tmp = tempDir()
  store = openSqliteStore({ dataDir: tmp.dir })
})
afterEach(async () => {
  await store.close()
  tmp.remove()
})

const repo = {
  owner: 'octo-org',
  name: 'hello-world',
  fullName: 'octo-org/hello-world',
  cloneUrl: '/nowhere.git',
  htmlUrl: 'https://github.com/octo-org/hello-world',
  defaultBranch: 'main',
}

describe('deploy job: failed for good after its process died', () => {
  it('closes the deployment it left open (store and GitHub status error) and frees its lock at once', async () => {
    const probot = await createTestProbot()
    const job = createDeployJob({
      store,
      auth: (id) => probot.auth(id),
      git: { withWorkspace: () => Promise.reject(new Error('not used')) },
      targets: () => Promise.reject(new Error('not used')),
      enqueue: () => Promise.reject(new Error('not used')),
      maxManifestBytes: 1024 * 1024,
    })
    await store.saveTask({
      id: 'hello-site',
      title: 'Hello',
      source: { kind: 'api', repo: repo.fullName, key: 'api', requester: 'mona' },
      manifestText: '{}',
      spec: 'spec',
    })
    await store.setTaskCode(
      { repo: repo.fullName, id: 'hello-site' },
      {
        branch: 'devsys/hello-site',
        headSha: 'b'.repeat(40),
        pullRequest: { number: 5, url: 'x' },
      },
      'test',
    )
    // What a SIGKILL between upload and switch leaves: an open record and a held lock.
    const open = await store.createDeployment({
      repo: repo.fullName,
      environment: 'production',
      taskId: 'hello-site',
      trigger: 'merge',
      actor: 'mona',
      commitSha: 'a'.repeat(40),
      ref: 'main',
      jobId: '42',
    })
    await store.updateDeployment(open.id, { githubDeploymentId: 901 })
    await store.acquireDeployLock(`${repo.fullName}:production`, 'job:42', 'deploy', 600_000)
    const status = nockDeploymentStatus('octo-org', 'hello-world', 901).body
    const told = nockCreateIssueComment('octo-org', 'hello-world', 5)
    const payload: DeployPayload = {
      installationId: 1,
      repo,
      trigger: 'merge',
      environment: null,
      sha: 'a'.repeat(40),
      branch: 'main',
      actor: 'mona',
      taskId: null,
      dryRun: false,
    }

    await job.onFailed?.(payload, 'lease expired (the worker died)', {
      job: { id: '42' } as Job,
      log: testLogger(),
      signal: new AbortController().signal,
    })

    expect(await status).toMatchObject({ state: 'error' })
    // The merge's task PR is told, with the reason.
    const comment = (await told.body).body
    expect(comment).toContain('DevSys could not deploy aaaaaaa')
    expect(comment).toContain('lease expired (the worker died)')
    expect(await store.getDeployment(open.id)).toMatchObject({ state: 'error' })
    expect(
      await store.acquireDeployLock(`${repo.fullName}:production`, 'job:43', 'next', 1000),
    ).toEqual({
      acquired: true,
    })
  })
})
