import { describe, expect, it } from 'vitest'
import { type IssueIntakePayload, issueIntakeTrigger } from '../../src/triggers/issue-intake.js'
import { examplePayload, TEST_INSTALLATION_ID } from '../helpers/payloads.js'
import { testLabel } from '../intake/harness.js'

describe('issueIntakeTrigger', () => {
  it('turns a labelled issue into an intake job keyed by the issue', () => {
    const payload = examplePayload('issues', 'labeled', (p) => {
      p.label = testLabel('devsys')
    })
    const trigger = issueIntakeTrigger(payload)
    expect(trigger.kind).toBe('job')
    if (trigger.kind !== 'job') return
    const job = trigger.job.payload as IssueIntakePayload
    expect(trigger.job.kind).toBe('intake-issue')
    expect(trigger.job.key).toBe(`intake:${payload.repository.full_name}#${payload.issue.number}`)
    expect(job).toMatchObject({
      installationId: TEST_INSTALLATION_ID,
      repo: {
        owner: payload.repository.owner.login,
        name: payload.repository.name,
        defaultBranch: payload.repository.default_branch,
      },
      issue: payload.issue.number,
      issueUrl: payload.issue.html_url,
      addedLabel: 'devsys',
      requester: payload.sender.login,
    })
  })

  it('queues an opened issue that has labels, and ignores one without', () => {
    const labelled = examplePayload('issues', 'opened')
    expect(issueIntakeTrigger(labelled).kind).toBe('job')
    const bare = examplePayload('issues', 'opened', (p) => {
      p.issue.labels = []
    })
    expect(issueIntakeTrigger(bare)).toEqual({ kind: 'ignore', reason: 'no-label' })
  })

  it('ignores title-only edits but queues body edits', () => {
    const titleOnly = examplePayload('issues', 'edited', (p) => {
      p.changes = { title: { from: 'old' } }
    })
    expect(issueIntakeTrigger(titleOnly)).toEqual({ kind: 'ignore', reason: 'body-unchanged' })
    const bodyEdit = examplePayload('issues', 'edited', (p) => {
      p.changes = { body: { from: 'old body' } }
    })
    expect(issueIntakeTrigger(bodyEdit).kind).toBe('job')
  })

  it('ignores closed issues and deliveries without an installation', () => {
    const closed = examplePayload('issues', 'labeled', (p) => {
      p.issue.state = 'closed'
    })
    expect(issueIntakeTrigger(closed)).toEqual({ kind: 'ignore', reason: 'issue-closed' })
    const noInstallation = examplePayload('issues', 'labeled', (p) => {
      delete (p as { installation?: unknown }).installation
    })
    expect(issueIntakeTrigger(noInstallation)).toEqual({
      kind: 'ignore',
      reason: 'no-installation',
    })
  })
})
