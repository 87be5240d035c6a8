import { describe, expect, it } from 'vitest'
import {
  type AuditStore,
  type TaskStore,
  type TestRunStore,
  taskSubject,
} from '../../src/store/store.js'
import { at, newTask } from './fixtures.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

/** The TaskStore part (with the audit events and test runs a task's changes write): what every store must do. */
function taskStoreContract(impl: StoreImplementation) {
  const s = useStore<TaskStore & AuditStore & TestRunStore>(impl)

  describe('saveTask', () => {
    it('creates a pending task at revision 1 and audits it', async () => {
      const result = await s.store.saveTask(newTask())
      expect(result).toEqual({
        kind: 'created',
        task: {
          ...newTask(),
          repo: 'acme/shop',
          status: 'pending',
          revision: 1,
          code: null,
          createdAt: at(0),
          updatedAt: at(0),
        },
      })
      expect(await s.store.getTask({ repo: 'acme/shop', id: 'shop-api' })).toEqual(
        result.kind === 'created' ? result.task : undefined,
      )
      expect(await s.store.listAudit(taskSubject({ repo: 'acme/shop', id: 'shop-api' }))).toEqual([
        {
          id: expect.any(Number),
          at: at(0),
          actor: 'alice',
          action: 'task.created',
          subject: 'task:acme/shop#shop-api',
          details: { revision: 1, source: 'issue' },
          // A store change is made by DevSys itself, on the task it names.
          via: 'system',
          target: { repo: 'acme/shop', task: 'shop-api', environment: null, release: null },
          before: null,
          after: null,
          requestId: null,
          sourceIp: null,
          result: null,
        },
      ])
    })

    it('is unchanged for the same manifest and spec, and writes no audit event', async () => {
      await s.store.saveTask(newTask())
      s.now += 1000
      const result = await s.store.saveTask(newTask({ title: 'Renamed only' }))
      expect(result).toMatchObject({
        kind: 'unchanged',
        task: { revision: 1, title: 'Shop API', updatedAt: at(0) },
      })
      expect(
        await s.store.listAudit(taskSubject({ repo: 'acme/shop', id: 'shop-api' })),
      ).toHaveLength(1)
    })

    it('updates a changed manifest from the same source: revision + 1, status kept', async () => {
      await s.store.saveTask(newTask())
      await s.store.setTaskStatus({ repo: 'acme/shop', id: 'shop-api' }, 'in_progress', 'devsys')
      s.now += 1000
      const edited = newTask({
        title: 'Shop API v2',
        manifestText: '{"name":"shop-api","v":2}',
        spec: 'name: shop-api\nv: 2\n',
        source: { ...newTask().source, requester: 'bob' },
      })
      const result = await s.store.saveTask(edited)
      expect(result).toEqual({
        kind: 'updated',
        task: {
          ...edited,
          repo: 'acme/shop',
          status: 'in_progress',
          revision: 2,
          code: null,
          createdAt: at(0),
          updatedAt: at(1000),
        },
      })
      const actions = (
        await s.store.listAudit(taskSubject({ repo: 'acme/shop', id: 'shop-api' }))
      ).map((e) => [e.action, e.actor, e.details])
      expect(actions).toEqual([
        ['task.created', 'alice', { revision: 1, source: 'issue' }],
        ['task.status', 'devsys', { from: 'pending', to: 'in_progress' }],
        ['task.updated', 'bob', { revision: 2, source: 'issue' }],
      ])
    })

    it('refuses an id owned by another source of the same repository and writes nothing', async () => {
      await s.store.saveTask(newTask())
      const other = newTask({
        manifestText: '{"other":true}',
        source: {
          kind: 'push',
          repo: 'acme/shop',
          commit: 'abc',
          path: 'specs/x.json',
          key: 'push:acme/shop:specs/x.json',
          requester: 'eve',
        },
      })
      const result = await s.store.saveTask(other)
      expect(result).toMatchObject({
        kind: 'conflict',
        existing: { id: 'shop-api', revision: 1, source: { key: 'issue:acme/shop#12' } },
      })
      expect(await s.store.getTask({ repo: 'acme/shop', id: 'shop-api' })).toMatchObject({
        manifestText: '{"name":"shop-api"}',
        revision: 1,
      })
      expect(await s.store.listAudit()).toHaveLength(1)
    })
  })

  describe('tasks of different repositories', () => {
    const inRepo = (repo: string, issue: number, manifestText: string) =>
      newTask({
        manifestText,
        source: { ...newTask().source, repo, issue, key: `issue:${repo}#${issue}` },
      })

    it('gives each repository its own task with the same id, history and test runs', async () => {
      const shop = await s.store.saveTask(inRepo('acme/shop', 12, '{"shop":1}'))
      const blog = await s.store.saveTask(inRepo('octo/blog', 3, '{"blog":1}'))
      expect(shop.kind).toBe('created')
      expect(blog.kind).toBe('created')
      expect(await s.store.getTask({ repo: 'octo/blog', id: 'shop-api' })).toMatchObject({
        repo: 'octo/blog',
        manifestText: '{"blog":1}',
        source: { issue: 3 },
      })
      expect(await s.store.getTask({ repo: 'acme/shop', id: 'shop-api' })).toMatchObject({
        repo: 'acme/shop',
        manifestText: '{"shop":1}',
      })
      expect(await s.store.getTask({ repo: 'acme/else', id: 'shop-api' })).toBeUndefined()
      expect((await s.store.listTasks({ id: 'shop-api' })).map((x) => x.repo).sort()).toEqual([
        'acme/shop',
        'octo/blog',
      ])

      await s.store.setTaskStatus({ repo: 'octo/blog', id: 'shop-api' }, 'done', 'carol')
      expect((await s.store.getTask({ repo: 'acme/shop', id: 'shop-api' }))?.status).toBe('pending')
      expect(
        (await s.store.listAudit(taskSubject({ repo: 'acme/shop', id: 'shop-api' }))).map(
          (e) => e.action,
        ),
      ).toEqual(['task.created'])

      const run = await s.store.startTestRun({
        task: { repo: 'octo/blog', id: 'shop-api' },
        headSha: 'a'.repeat(40),
        checkRunId: null,
      })
      expect(run.repo).toBe('octo/blog')
      expect(await s.store.latestTestRun({ repo: 'acme/shop', id: 'shop-api' })).toBeUndefined()
      expect((await s.store.latestTestRun({ repo: 'octo/blog', id: 'shop-api' }))?.id).toBe(run.id)
    })
  })

  describe('task status and listing', () => {
    it('audits each status change, and only real changes', async () => {
      await s.store.saveTask(newTask())
      s.now += 5
      expect(
        await s.store.setTaskStatus({ repo: 'acme/shop', id: 'shop-api' }, 'done', 'carol'),
      ).toMatchObject({
        status: 'done',
        updatedAt: at(5),
      })
      expect(
        await s.store.setTaskStatus({ repo: 'acme/shop', id: 'shop-api' }, 'done', 'carol'),
      ).toMatchObject({ status: 'done' })
      expect(
        await s.store.setTaskStatus({ repo: 'acme/shop', id: 'missing' }, 'done', 'carol'),
      ).toBeUndefined()
      const events = await s.store.listAudit(taskSubject({ repo: 'acme/shop', id: 'shop-api' }))
      expect(events.map((e) => [e.at, e.actor, e.action, e.details])).toEqual([
        [at(0), 'alice', 'task.created', { revision: 1, source: 'issue' }],
        [at(5), 'carol', 'task.status', { from: 'pending', to: 'done' }],
      ])
      expect(events.at(-1)).toMatchObject({
        before: { status: 'pending' },
        after: { status: 'done' },
      })
    })

    it('lists newest first, filtered by status and repo', async () => {
      await s.store.saveTask(newTask({ id: 'a' }))
      s.now += 1
      await s.store.saveTask(
        newTask({ id: 'b', source: { ...newTask().source, key: 'k-b', repo: 'acme/web' } }),
      )
      s.now += 1
      await s.store.saveTask(newTask({ id: 'c', source: { ...newTask().source, key: 'k-c' } }))
      await s.store.setTaskStatus({ repo: 'acme/shop', id: 'c' }, 'failed', 'devsys')
      const ids = async (f?: Parameters<TaskStore['listTasks']>[0]) =>
        (await s.store.listTasks(f)).map((x) => x.id)
      expect(await ids()).toEqual(['c', 'b', 'a'])
      expect(await ids({ repo: 'acme/shop' })).toEqual(['c', 'a'])
      expect(await ids({ status: 'pending' })).toEqual(['b', 'a'])
      expect(await ids({ status: 'failed', repo: 'acme/shop' })).toEqual(['c'])
    })
  })

  describe('task code', () => {
    it('records branch, pushed commit and pull request, finds the task by its PR, and audits it', async () => {
      await s.store.saveTask(newTask())
      s.now += 500
      const code = {
        branch: 'devsys/shop-api',
        headSha: 'a'.repeat(40),
        pullRequest: { number: 7, url: 'https://github.com/acme/shop/pull/7' },
      }
      const task = await s.store.setTaskCode({ repo: 'acme/shop', id: 'shop-api' }, code, 'devsys')
      expect(task).toMatchObject({ code, updatedAt: at(500) })
      expect((await s.store.findTaskByPullRequest('acme/shop', 7))?.id).toBe('shop-api')
      expect(await s.store.findTaskByPullRequest('acme/shop', 8)).toBeUndefined()
      expect(await s.store.findTaskByPullRequest('acme/other', 7)).toBeUndefined()
      const events = await s.store.listAudit(taskSubject({ repo: 'acme/shop', id: 'shop-api' }))
      expect(events.at(-1)).toMatchObject({ actor: 'devsys', action: 'task.code', details: code })
      expect(
        await s.store.setTaskCode({ repo: 'acme/shop', id: 'missing' }, code, 'devsys'),
      ).toBeUndefined()
    })

    it('refuses one pull request for two tasks of a repository', async () => {
      await s.store.saveTask(newTask())
      await s.store.saveTask(
        newTask({
          id: 'other',
          source: { ...newTask().source, key: 'issue:acme/shop#13', issue: 13 },
        }),
      )
      const pr = { number: 7, url: 'https://github.com/acme/shop/pull/7' }
      await s.store.setTaskCode(
        { repo: 'acme/shop', id: 'shop-api' },
        { branch: 'devsys/shop-api', headSha: 'a'.repeat(40), pullRequest: pr },
        'devsys',
      )
      await expect(
        s.store.setTaskCode(
          { repo: 'acme/shop', id: 'other' },
          { branch: 'devsys/other', headSha: 'b'.repeat(40), pullRequest: pr },
          'devsys',
        ),
      ).rejects.toThrow(/UNIQUE/)
    })
  })
}

describe.each(storeImplementations)('TaskStore: $name', taskStoreContract)
