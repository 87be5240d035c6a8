import { ProbotOctokit } from 'probot'
import { describe, expect, it } from 'vitest'
import { verifyLive } from '../../../src/deploy/steps/verify.js'
import type { AcceptanceCheck } from '../../../src/manifest/types.js'
import {
  githubRequests,
  nockCreateCheckRun,
  nockUpdateCheckRun,
  useGitHubMock,
} from '../../helpers/github.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const SHA = 'c'.repeat(40)
const p = {
  repo: {
    owner: OWNER,
    name: REPO,
    fullName: `${OWNER}/${REPO}`,
    cloneUrl: '/nowhere.git',
    defaultBranch: 'main',
    htmlUrl: `https://github.com/${OWNER}/${REPO}`,
  },
  sha: SHA,
}
/** Nothing listens on port 1: the check fails without retries. */
const SITE = 'http://127.0.0.1:1'

useGitHubMock()

function client() {
  return new ProbotOctokit({
    auth: { token: 'test-token' },
    retry: { enabled: false },
    throttle: { enabled: false },
  })
}

function input(checks: AcceptanceCheck[]) {
  return {
    environment: 'production',
    target: { url: SITE, trustedOrigin: SITE },
    checks,
    fromTree: false,
    record: 9,
    signal: new AbortController().signal,
  }
}

describe('verifyLive', () => {
  it('reports the checks in the DevSys / acceptance run: created in progress, completed with the result', async () => {
    const created = nockCreateCheckRun(OWNER, REPO, 90)
    const completed = nockUpdateCheckRun(OWNER, REPO, 90)
    const check: AcceptanceCheck = { method: 'GET', path: '/', status: 200, timeoutMs: 2000 }
    const result = await verifyLive(client(), { retries: 0 }, p, input([check]))
    expect(result).toMatchObject({ ok: false })
    expect(await created.body).toMatchObject({
      name: 'DevSys / acceptance',
      head_sha: SHA,
      status: 'in_progress',
      external_id: '9',
      output: { title: 'Verifying production' },
    })
    expect(await completed.body).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: { title: '0 of 1 acceptance checks passed in production' },
    })
    expect(githubRequests().map((r) => r.method)).toEqual(['POST', 'PATCH'])
  })

  it('completes the run as cancelled with the reason when the verification throws, and rethrows', async () => {
    nockCreateCheckRun(OWNER, REPO, 91)
    const completed = nockUpdateCheckRun(OWNER, REPO, 91)
    // A negative timeout makes AbortSignal.timeout throw: a verification that breaks, not a check that fails.
    const broken: AcceptanceCheck = { method: 'GET', path: '/', status: 200, timeoutMs: -1 }
    const error = await verifyLive(client(), { retries: 0 }, p, input([broken])).catch((e) => e)
    expect(error).toBeInstanceOf(Error)
    expect(await completed.body).toMatchObject({
      status: 'completed',
      conclusion: 'cancelled',
      output: {
        title: 'Verification stopped',
        summary: `DevSys stopped verifying production: ${(error as Error).message}`,
      },
    })
  })

  it('creates no check run when there is nothing to verify', async () => {
    expect(await verifyLive(client(), undefined, p, input([]))).toEqual({
      skipped: 'the task has no acceptance checks',
    })
    expect(githubRequests()).toEqual([])
  })
})
