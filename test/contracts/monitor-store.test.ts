import { describe, expect, it } from 'vitest'
import { initialMonitorState } from '../../src/store/monitor-records.js'
import type { LockStore, MonitorStore } from '../../src/store/store.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

const REPO = 'octo-org/hello-world'

/** The MonitorStore part: per environment state, written only over the revision it was read at. */
function monitorStoreContract(impl: StoreImplementation) {
  const s = useStore<MonitorStore & LockStore>(impl, Date.parse('2026-01-01T00:00:00Z'))

  it('saves a new state, reads it back, and lists it', async () => {
    expect(await s.store.getMonitorState(REPO, 'production')).toBeUndefined()
    const state = {
      ...initialMonitorState(REPO, 'production'),
      status: 'down' as const,
      consecutiveFailures: 3,
      incidentIssue: 42,
      failingSince: '2026-01-01T00:00:00.000Z',
      failures: [{ id: 'home', status: 500, expected: 200, problems: ['status 500'] }],
      nextCheckAt: '2026-01-01T00:01:00.000Z',
    }
    const saved = await s.store.saveMonitorState(state)
    expect(saved).toEqual({ ...state, revision: 1 })
    expect(await s.store.getMonitorState(REPO, 'production')).toEqual({ ...state, revision: 1 })
    await s.store.saveMonitorState(initialMonitorState(REPO, 'staging'))
    expect((await s.store.listMonitorStates()).map((s) => s.environment)).toEqual([
      'production',
      'staging',
    ])
  })

  it('a save based on an older read writes nothing: two checks cannot both alert', async () => {
    const first = await s.store.saveMonitorState(initialMonitorState(REPO, 'production'))
    if (first === undefined) throw new Error('first save refused')
    // A second writer that also saw no state loses.
    expect(await s.store.saveMonitorState(initialMonitorState(REPO, 'production'))).toBeUndefined()
    const opened = await s.store.saveMonitorState({ ...first, incidentIssue: 7 })
    expect(opened?.revision).toBe(2)
    expect(await s.store.saveMonitorState({ ...first, incidentIssue: 8 })).toBeUndefined()
    expect(await s.store.getMonitorState(REPO, 'production')).toMatchObject({
      incidentIssue: 7,
      revision: 2,
    })
  })

  it('survives a reopen (a restart)', async () => {
    await s.store.saveMonitorState({ ...initialMonitorState(REPO, 'production'), incidentIssue: 9 })
    s.store = await s.handle.reopen()
    expect(await s.store.getMonitorState(REPO, 'production')).toMatchObject({ incidentIssue: 9 })
  })

  it('tells who holds a deploy lock until it is released or expires', async () => {
    const env = `${REPO}:production`
    expect(await s.store.getDeployLock(env)).toBeUndefined()
    await s.store.acquireDeployLock(env, 'job:1', 'merge of #5', 60_000)
    expect(await s.store.getDeployLock(env)).toEqual({
      owner: 'job:1',
      reason: 'merge of #5',
      acquiredAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T00:01:00.000Z',
    })
    s.now += 61_000
    expect(await s.store.getDeployLock(env)).toBeUndefined()
    await s.store.acquireDeployLock(env, 'job:2', 'x', 60_000)
    await s.store.releaseDeployLock(env, 'job:2')
    expect(await s.store.getDeployLock(env)).toBeUndefined()
  })
}

describe.each(storeImplementations)('MonitorStore: $name', monitorStoreContract)
