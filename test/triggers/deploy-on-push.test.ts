import { describe, expect, it } from 'vitest'
import { deployOnPushTrigger } from '../../src/triggers/deploy-on-push.js'
import { examplePayload } from '../helpers/payloads.js'

const SHA = 'c0ffee'.padEnd(40, '0')

function push(patch: (p: ReturnType<typeof examplePayload<'push'>>) => void = () => {}) {
  return examplePayload('push', undefined, (p) => {
    p.ref = 'refs/heads/main'
    p.after = SHA
    p.deleted = false
    p.repository.default_branch = 'main'
    p.repository.full_name = 'octo-org/blog'
    p.repository.name = 'blog'
    if (p.repository.owner) p.repository.owner.login = 'octo-org'
    patch(p)
  })
}

describe('deployOnPushTrigger', () => {
  it('a push to the default branch deploys the pushed commit, one coalescing job per repository', () => {
    const trigger = deployOnPushTrigger(push())
    expect(trigger).toMatchObject({
      kind: 'job',
      job: {
        kind: 'deploy',
        key: 'deploy:octo-org/blog',
        payload: {
          trigger: 'merge',
          environment: null,
          sha: SHA,
          branch: 'main',
          taskId: null,
          dryRun: false,
          repo: {
            owner: 'octo-org',
            name: 'blog',
            fullName: 'octo-org/blog',
            defaultBranch: 'main',
          },
        },
      },
    })
  })

  it.each([
    [
      'another branch',
      (p: ReturnType<typeof push>) => {
        p.ref = 'refs/heads/feature'
      },
      'not-the-default-branch',
    ],
    [
      'a tag',
      (p: ReturnType<typeof push>) => {
        p.ref = 'refs/tags/main'
      },
      'not-the-default-branch',
    ],
    [
      'a deleted branch',
      (p: ReturnType<typeof push>) => {
        p.deleted = true
        p.after = '0'.repeat(40)
      },
      'ref-deleted',
    ],
    [
      'no installation',
      (p: ReturnType<typeof push>) => void delete (p as { installation?: unknown }).installation,
      'no-installation',
    ],
  ])('ignores %s', (_name, patch, reason) => {
    expect(deployOnPushTrigger(push(patch))).toEqual({ kind: 'ignore', reason })
  })
})
