import { describe, expect, it } from 'vitest'
import type { RunTestsPayload } from '../../src/triggers/job-payloads.js'
import { checkRerunTrigger, prPushTrigger } from '../../src/triggers/test-triggers.js'
import { examplePayload } from '../helpers/payloads.js'

describe('test triggers', () => {
  it('re-runs DevSys’s own tests check only, for the task in external_id', () => {
    const mine = examplePayload('check_run', 'rerequested', (p) => {
      p.check_run.name = 'DevSys / tests'
      p.check_run.external_id = 'blog'
    })
    const trigger = checkRerunTrigger(mine)
    expect(trigger).toMatchObject({
      kind: 'job',
      job: { kind: 'run-tests', key: 'tests:github/hello-world#blog' },
    })
    if (trigger.kind === 'job') {
      expect(trigger.job.payload as RunTestsPayload).toMatchObject({
        taskId: 'blog',
        headSha: mine.check_run.head_sha,
        reason: 'rerequested',
      })
    }
    expect(checkRerunTrigger(examplePayload('check_run', 'rerequested'))).toEqual({
      kind: 'ignore',
      reason: 'not-devsys-tests',
    })
  })

  it('tests pushes by people to devsys/* branches of the same repository', () => {
    const push = (
      patch: (p: ReturnType<typeof examplePayload<'pull_request', 'synchronize'>>) => void,
    ) => prPushTrigger(examplePayload('pull_request', 'synchronize', patch))
    expect(
      push((p) => {
        p.pull_request.head.ref = 'devsys/blog'
      }),
    ).toMatchObject({
      kind: 'job',
      job: {
        key: 'tests:Codertocat/Hello-World#blog',
        payload: { taskId: 'blog', reason: 'pushed' },
      },
    })
    expect(
      push((p) => {
        p.pull_request.head.ref = 'feature/x'
      }),
    ).toEqual({ kind: 'ignore', reason: 'not-a-devsys-branch' })
    expect(
      push((p) => {
        p.pull_request.head.ref = 'devsys/blog'
        p.sender.type = 'Bot'
      }),
    ).toEqual({ kind: 'ignore', reason: 'pushed-by-a-bot' })
    expect(
      push((p) => {
        p.pull_request.head.ref = 'devsys/blog'
        if (p.pull_request.head.repo) p.pull_request.head.repo.full_name = 'someone/fork'
      }),
    ).toEqual({ kind: 'ignore', reason: 'from-a-fork' })
  })
})
