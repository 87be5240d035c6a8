import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { exampleEvent, examplePayload, signPayload, TEST_INSTALLATION_ID } from './payloads.js'

describe('payload helpers', () => {
  it('returns deep copies, so one test cannot change the next', () => {
    const first = examplePayload('issues', 'opened')
    first.issue.title = 'changed'
    expect(examplePayload('issues', 'opened').issue.title).not.toBe('changed')
  })

  it('adds the installation to events without an action, and events get fresh delivery ids', () => {
    expect(examplePayload('push').installation.id).toBe(TEST_INSTALLATION_ID)
    const a = exampleEvent('issue_comment.created')
    const b = exampleEvent('issue_comment.created')
    expect(a.name).toBe('issue_comment')
    expect(a.payload.action).toBe('created')
    expect(a.id).not.toBe(b.id)
  })

  it('signs bodies like GitHub: sha256= HMAC of the exact bytes', async () => {
    const body = JSON.stringify(examplePayload('issues', 'labeled'))
    const expected = `sha256=${createHmac('sha256', 'secret').update(body).digest('hex')}`
    expect(await signPayload('secret', body)).toBe(expected)
  })
})
