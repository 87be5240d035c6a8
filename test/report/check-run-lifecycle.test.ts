import { ProbotOctokit } from 'probot'
import { describe, expect, it } from 'vitest'
import { failCheckRun, type OwnedCheckRun, withCheckRun } from '../../src/report/check-run.js'
import {
  githubRequests,
  nockCreateCheckRun,
  nockUpdateCheckRun,
  useGitHubMock,
} from '../helpers/github.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const SHA = 'a'.repeat(40)
const run: OwnedCheckRun = { owner: OWNER, repo: REPO, name: 'DevSys / tests', headSha: SHA }
const passed = { conclusion: 'success' as const, title: 'All passed', summary: '3 passed' }

const github = useGitHubMock()

function client() {
  return new ProbotOctokit({
    auth: { token: 'test-token' },
    retry: { enabled: false },
    throttle: { enabled: false },
  })
}

function nockLatestCheckRun(found: { id: number; status: string } | null) {
  github()
    .get(`/repos/${OWNER}/${REPO}/commits/${SHA}/check-runs`)
    .query({ check_name: run.name, filter: 'latest' })
    .reply(200, { total_count: found ? 1 : 0, check_runs: found ? [found] : [] })
}

/** The check-run requests sent, as `METHOD status` (the create or update's status, if any). */
function checkRunSteps(): string[] {
  return githubRequests()
    .filter((r) => r.path.includes('/check-runs'))
    .map((r) => {
      const status = (r.body as { status?: string } | undefined)?.status
      return `${r.method} ${status ?? ''}`.trim()
    })
}

describe('withCheckRun', () => {
  it('creates the run queued, marks it in progress, runs the work and completes it with its result', async () => {
    const created = nockCreateCheckRun(OWNER, REPO, 70)
    nockUpdateCheckRun(OWNER, REPO, 70)
    const completed = nockUpdateCheckRun(OWNER, REPO, 70)
    const value = await withCheckRun(client(), run, {
      work: async (id) => ({ check: passed, value: `ran in ${id}` }),
    })
    expect(value).toBe('ran in 70')
    expect((await created.body).status).toBe('queued')
    expect(await completed.body).toMatchObject({
      status: 'completed',
      conclusion: 'success',
      output: { title: 'All passed', summary: '3 passed' },
    })
    expect(checkRunSteps()).toEqual(['POST queued', 'PATCH in_progress', 'PATCH completed'])
  })

  it('uses a run queued earlier instead of creating one', async () => {
    nockUpdateCheckRun(OWNER, REPO, 71)
    nockUpdateCheckRun(OWNER, REPO, 71)
    await withCheckRun(
      client(),
      { ...run, existing: 71 },
      {
        work: async () => ({ check: passed, value: undefined }),
      },
    )
    expect(checkRunSteps()).toEqual(['PATCH in_progress', 'PATCH completed'])
  })

  it('records the run (opened) before marking it in progress, so a failure there leaves it findable', async () => {
    nockCreateCheckRun(OWNER, REPO, 72)
    github().patch(`/repos/${OWNER}/${REPO}/check-runs/72`).reply(502, { message: 'Bad Gateway' })
    const recorded: number[] = []
    let worked = false
    await expect(
      withCheckRun(client(), run, {
        opened: async (id) => {
          recorded.push(id)
        },
        work: async () => {
          worked = true
          return { check: passed, value: undefined }
        },
      }),
    ).rejects.toThrow(/Bad Gateway/)
    expect(recorded).toEqual([72])
    expect(worked).toBe(false)
  })

  it('leaves the run in progress when the work throws, for the retry (failCheckRun completes it)', async () => {
    nockCreateCheckRun(OWNER, REPO, 73)
    nockUpdateCheckRun(OWNER, REPO, 73)
    await expect(
      withCheckRun(client(), run, {
        work: async () => {
          throw new Error('runner unreachable')
        },
      }),
    ).rejects.toThrow('runner unreachable')
    expect(checkRunSteps()).toEqual(['POST queued', 'PATCH in_progress'])
  })

  it('with failed: completes the run with what it says when the work throws, and rethrows', async () => {
    nockCreateCheckRun(OWNER, REPO, 77)
    const completed = nockUpdateCheckRun(OWNER, REPO, 77)
    await expect(
      withCheckRun(
        client(),
        { ...run, inProgressTitle: 'Verifying production' },
        {
          work: async () => {
            throw new Error('site unreachable')
          },
          failed: (error) => ({
            conclusion: 'cancelled',
            title: 'Verification stopped',
            summary: `DevSys stopped verifying production: ${(error as Error).message}`,
          }),
        },
      ),
    ).rejects.toThrow('site unreachable')
    expect(await completed.body).toMatchObject({
      status: 'completed',
      conclusion: 'cancelled',
      output: { summary: 'DevSys stopped verifying production: site unreachable' },
    })
  })

  it('with inProgressTitle: creates the run in progress, or picks up one still in progress', async () => {
    const created = nockCreateCheckRun(OWNER, REPO, 74)
    nockUpdateCheckRun(OWNER, REPO, 74)
    const started = { ...run, inProgressTitle: 'Checking 1 manifest' }
    await withCheckRun(client(), started, { work: async () => ({ check: passed, value: 1 }) })
    expect(await created.body).toMatchObject({
      status: 'in_progress',
      output: { title: 'Checking 1 manifest' },
    })

    nockLatestCheckRun({ id: 74, status: 'in_progress' })
    nockUpdateCheckRun(OWNER, REPO, 74)
    await withCheckRun(
      client(),
      { ...started, existing: 'find' },
      {
        work: async () => ({ check: passed, value: 2 }),
      },
    )
    expect(checkRunSteps()).toEqual([
      'POST in_progress',
      'PATCH completed',
      'GET',
      'PATCH completed',
    ])
  })

  it("does not reuse a found run that is completed: that was an earlier attempt's result", async () => {
    nockLatestCheckRun({ id: 75, status: 'completed' })
    nockCreateCheckRun(OWNER, REPO, 76)
    const completed = nockUpdateCheckRun(OWNER, REPO, 76)
    await withCheckRun(
      client(),
      { ...run, inProgressTitle: 'Checking', existing: 'find' },
      {
        work: async () => ({ check: passed, value: undefined }),
      },
    )
    expect((await completed.body).status).toBe('completed')
  })
})

describe('failCheckRun', () => {
  const failure = { title: 'DevSys could not run the tests', summary: 'connection refused' }

  it('completes the given run with the failure', async () => {
    const completed = nockUpdateCheckRun(OWNER, REPO, 80)
    await failCheckRun(client(), { ...run, existing: 80 }, failure)
    expect(await completed.body).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: failure,
    })
  })

  it('completes the run found on the commit, whatever its state', async () => {
    nockLatestCheckRun({ id: 81, status: 'completed' })
    const completed = nockUpdateCheckRun(OWNER, REPO, 81)
    await failCheckRun(client(), { ...run, existing: 'find' }, failure)
    expect((await completed.body).conclusion).toBe('failure')
  })

  it('creates a run to complete when none was started, so the commit still says why', async () => {
    nockLatestCheckRun(null)
    nockCreateCheckRun(OWNER, REPO, 82)
    const completed = nockUpdateCheckRun(OWNER, REPO, 82)
    await failCheckRun(client(), { ...run, existing: 'find' }, failure)
    expect((await completed.body).output?.summary).toBe('connection refused')
    expect(checkRunSteps()).toEqual(['GET', 'POST queued', 'PATCH completed'])
  })
})
