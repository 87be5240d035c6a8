import { describe, expect, it } from 'vitest'
import {
  changedFilesOf,
  type PushIntakePayload,
  pushIntakeTrigger,
} from '../../src/triggers/push-intake.js'
import { examplePayload } from '../helpers/payloads.js'

type Commit = ReturnType<typeof examplePayload<'push'>>['commits'][number]

function commit(files: { added?: string[]; modified?: string[]; removed?: string[] }): Commit {
  const base = examplePayload('push', undefined, (p) => {
    p.commits = p.commits.length > 0 ? p.commits : []
  })
  const template = base.commits[0] ?? (base.head_commit as Commit)
  return {
    ...template,
    added: files.added ?? [],
    modified: files.modified ?? [],
    removed: files.removed ?? [],
  }
}

function pushWith(commits: Commit[], ref = 'refs/heads/main') {
  return examplePayload('push', undefined, (p) => {
    p.ref = ref
    p.deleted = false
    p.commits = commits
  })
}

describe('pushIntakeTrigger', () => {
  it('lists files added or modified and still present after the push', () => {
    const files = changedFilesOf([
      commit({ added: ['specs/a.json', 'specs/gone.json'], modified: ['README.md'] }),
      commit({ modified: ['specs/a.json'], removed: ['specs/gone.json'] }),
      commit({ added: ['.devsys/b.yml'] }),
    ])
    expect(files).toEqual(['specs/a.json', 'README.md', '.devsys/b.yml'])
  })

  it('queues a job reading from the pushed commit', () => {
    const payload = pushWith([commit({ added: ['specs/blog.json'] })])
    const trigger = pushIntakeTrigger(payload)
    expect(trigger.kind).toBe('job')
    if (trigger.kind !== 'job') return
    const job = trigger.job.payload as PushIntakePayload
    expect(trigger.job.key).toBe(`intake:${payload.repository.full_name}@${payload.after}`)
    expect(job.sha).toBe(payload.after)
    expect(job.changedFiles).toEqual(['specs/blog.json'])
    expect(job.ref).toBe('refs/heads/main')
  })

  it('ignores tags, deletions, DevSys branches and pushes without file changes', () => {
    const files = [commit({ added: ['specs/blog.json'] })]
    expect(pushIntakeTrigger(pushWith(files, 'refs/tags/v1'))).toEqual({
      kind: 'ignore',
      reason: 'not-a-branch',
    })
    expect(pushIntakeTrigger(pushWith(files, 'refs/heads/devsys/blog'))).toEqual({
      kind: 'ignore',
      reason: 'devsys-branch',
    })
    const deleted = examplePayload('push', undefined, (p) => {
      p.deleted = true
    })
    expect(pushIntakeTrigger(deleted)).toEqual({ kind: 'ignore', reason: 'ref-deleted' })
    expect(pushIntakeTrigger(pushWith([]))).toEqual({ kind: 'ignore', reason: 'no-changed-files' })
  })
})
