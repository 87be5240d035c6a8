import { ProbotOctokit } from 'probot'
import { describe, expect, it } from 'vitest'
import { COMMAND_COMMENT, INTAKE_COMMENT } from '../../src/report/comment-kinds.js'
import { replyOn } from '../../src/report/reply.js'
import type { CommentStore } from '../../src/store/store.js'
import {
  githubRequests,
  nockCreateCommentReaction,
  nockCreateIssueComment,
  nockCreateReaction,
  nockUpdateIssueComment,
  useGitHubMock,
} from '../helpers/github.js'

const OWNER = 'Codertocat'
const REPO = 'Hello-World'

useGitHubMock()

function client() {
  return new ProbotOctokit({
    auth: { token: 'test-token' },
    retry: { enabled: false },
    throttle: { enabled: false },
  })
}

/** The sticky-comment ids a store keeps, in a map. */
function commentStore(): Pick<CommentStore, 'getCommentId' | 'setCommentId'> {
  const ids = new Map<string, number>()
  return {
    getCommentId: async (repo, issue, kind) => ids.get(`${repo}#${issue}:${kind}`),
    setCommentId: async (repo, issue, kind, id) => {
      ids.set(`${repo}#${issue}:${kind}`, id)
    },
  }
}

describe('replyOn', () => {
  it('says things in one sticky comment of its kind, edited in place the second time', async () => {
    const created = nockCreateIssueComment(OWNER, REPO, 3)
    const edited = nockUpdateIssueComment(OWNER, REPO, 1001)
    const reply = replyOn(client(), commentStore(), {
      owner: OWNER,
      repo: REPO,
      issue: 3,
      kind: INTAKE_COMMENT,
    })
    await reply.say('first')
    await reply.say('second')
    expect((await created.body).body).toBe('<!-- devsys:intake -->\nfirst')
    expect((await edited.body).body).toBe('<!-- devsys:intake -->\nsecond')
  })

  it('stops with a titled comment, then 😕 on the command that asked', async () => {
    const comment = nockCreateIssueComment(OWNER, REPO, 4)
    const reaction = nockCreateCommentReaction(OWNER, REPO, 555)
    const reply = replyOn(client(), commentStore(), {
      owner: OWNER,
      repo: REPO,
      issue: 4,
      kind: COMMAND_COMMENT,
      asker: { commentId: 555 },
    })
    await reply.stop('DevSys did not run `/deploy`', 'Ask a maintainer.')
    expect((await comment.body).body).toBe(
      '<!-- devsys:command -->\n### DevSys did not run `/deploy`\n\nAsk a maintainer.',
    )
    expect(await reaction.body).toEqual({ content: 'confused' })
    expect(githubRequests().map((r) => r.method)).toEqual(['POST', 'POST'])
  })

  it('reacts on the issue itself when the issue asked', async () => {
    const reaction = nockCreateReaction(OWNER, REPO, 5)
    const reply = replyOn(client(), commentStore(), {
      owner: OWNER,
      repo: REPO,
      issue: 5,
      kind: INTAKE_COMMENT,
      asker: { issue: 5 },
    })
    await reply.react('rocket')
    expect(await reaction.body).toEqual({ content: 'rocket' })
  })

  it('says nothing without a place to answer, and reacts to nothing when nothing asked', async () => {
    const reply = replyOn(client(), commentStore(), {
      owner: OWNER,
      repo: REPO,
      issue: undefined,
      kind: INTAKE_COMMENT,
    })
    await reply.say('nobody reads this')
    await reply.react('rocket')
    expect(githubRequests()).toEqual([])
  })
})
