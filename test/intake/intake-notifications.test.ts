/**
 * Intake publishes its state changes: through a real Probot, the SQLite queue and the notify
 * job, a labelled issue's accepted task and a refused manifest each reach a webhook receiver on
 * loopback once, signed (verified with the Standard Webhooks reference implementation).
 */
import { readFileSync } from 'node:fs'
import { Webhook } from 'standardwebhooks'
import { afterAll, describe, expect, it } from 'vitest'
import {
  nockCreateIssueComment,
  nockCreateReaction,
  nockGetCollaboratorPermission,
  nockGetContent,
  useGitHubMock,
} from '../helpers/github.js'
import { examplePayload } from '../helpers/payloads.js'
import { startHttpReceiver } from '../notify/receivers.js'
import { testLabel, useIntake } from './harness.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'
const SECRET = `whsec_${Buffer.from('devsys-notify-test-secret-32-byt').toString('base64')}`
const CONFIG = `notifications:
  - events: [task.accepted, task.rejected]
    destinations: [webhook]
`
const blog = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const blogId = (JSON.parse(blog) as { id: string }).id

const hook = await startHttpReceiver()
afterAll(() => hook.close())

useGitHubMock()
const devsys = useIntake({
  jobs: ['intake-issue', 'notify'],
  env: {
    NOTIFY_WEBHOOK_URL: hook.url,
    NOTIFY_WEBHOOK_SECRET: SECRET,
    // The receiver is on loopback: allowed explicitly, as an operator would for an internal host.
    NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
  },
})

function labelled(body: string) {
  return examplePayload('issues', 'labeled', (p) => {
    p.issue.body = `Please build this.\n\n\`\`\`json\n${body}\n\`\`\`\n`
    p.label = testLabel('devsys')
    p.issue.labels = [testLabel('devsys')]
  })
}

/** The messages the receiver got since `from`, verified and parsed. */
function messages(from: number) {
  return hook.received.slice(from).map((m) => {
    const headers = m.headers as Record<string, string>
    return new Webhook(SECRET).verify(m.body, headers) as {
      type: string
      data: Record<string, unknown>
    }
  })
}

describe('intake notifications', () => {
  it('an accepted task is told once to the subscribed webhook', async () => {
    const from = hook.received.length
    // Read twice: by the intake job, and by the notify job for the subscriptions.
    nockGetContent(OWNER, REPO, '.github/devsys.yml', null, CONFIG)
    nockGetContent(OWNER, REPO, '.github/devsys.yml', null, CONFIG)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled(blog))
    expect(messages(from)).toEqual([
      {
        type: 'task.accepted',
        timestamp: expect.any(String),
        data: {
          id: `task.accepted:${OWNER}/${REPO}:${blogId}@1`,
          repo: `${OWNER}/${REPO}`,
          environment: null,
          task: blogId,
          title: expect.stringContaining(`Task ${blogId} accepted`),
          url: `https://github.com/${OWNER}/${REPO}/issues/1`,
          details: { revision: 1, requester: 'Codertocat' },
        },
      },
    ])
    expect(await devsys().store.listNotifications()).toMatchObject([
      { eventType: 'task.accepted', destination: 'webhook', status: 'delivered', attempts: 1 },
    ])
  })

  it('a refused manifest is told as task.rejected', async () => {
    const from = hook.received.length
    nockGetContent(OWNER, REPO, '.github/devsys.yml', null, CONFIG)
    nockGetContent(OWNER, REPO, '.github/devsys.yml', null, CONFIG)
    nockGetCollaboratorPermission(OWNER, REPO, 'Codertocat', 'write')
    nockCreateReaction(OWNER, REPO, 1)
    nockCreateIssueComment(OWNER, REPO, 1)
    await devsys().deliver('issues', labelled('{ "id": "../etc", "title": "Blog" }'))
    const [message] = messages(from)
    expect(message?.type).toBe('task.rejected')
    expect(message?.data.title).toMatch(/^Manifest in issue #1 refused: \d+ problem\(s\)$/)
    expect(hook.received.length - from).toBe(1)
  })
})
