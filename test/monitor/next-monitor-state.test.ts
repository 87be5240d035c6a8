import { describe, expect, it } from 'vitest'
import type { MonitorSettings } from '../../src/monitor/monitor-settings.js'
import { type Observation, nextMonitorState } from '../../src/monitor/next-monitor-state.js'
import { initialMonitorState, type MonitorState } from '../../src/store/monitor-records.js'

const SETTINGS: MonitorSettings = {
  enabled: true,
  intervalMs: 60_000,
  retryIntervalMs: 15_000,
  failureThreshold: 3,
  successThreshold: 2,
  reminderMs: 3_600_000,
  autoRollback: false,
  autoRollbackMs: 1_800_000,
  maintenance: [],
}
const T0 = Date.parse('2026-01-01T00:00:00Z')
const fail = (status = 500): Observation => ({
  deploymentId: 1,
  ok: false,
  failures: [{ id: 'home', status, expected: 200, problems: [`status ${status}`] }],
})
const pass: Observation = { deploymentId: 1, ok: true, failures: [] }

/** Runs observations one after the other, `stepMs` apart; returns every state and alert. */
function run(observations: Observation[], stepMs = 15_000, opts = { muted: false }) {
  let state: MonitorState = initialMonitorState('o/r', 'production')
  const alerts: string[] = []
  observations.forEach((o, i) => {
    const next = nextMonitorState(state, o, T0 + i * stepMs, SETTINGS, opts)
    if (next.alert !== null) alerts.push(next.alert.kind)
    // What sendAlert does once the alert is out.
    state = { ...next.state, pending: null }
    if (next.alert?.kind === 'open') state.incidentIssue = 7
    if (next.alert?.kind === 'resolve')
      state = { ...state, incidentIssue: null, failingSince: null }
  })
  return { state, alerts }
}

describe('nextMonitorState', () => {
  it('opens an incident at the third failure in a row, checking faster while it is pending', () => {
    const first = nextMonitorState(initialMonitorState('o/r', 'production'), fail(), T0, SETTINGS)
    expect(first.alert).toBeNull()
    expect(first.state).toMatchObject({ status: 'failing', consecutiveFailures: 1 })
    expect(first.state.nextCheckAt).toBe(new Date(T0 + 15_000).toISOString())
    expect(run([fail(), fail()]).alerts).toEqual([])
    const opened = run([fail(), fail(), fail()])
    expect(opened.alerts).toEqual(['open'])
    expect(opened.state).toMatchObject({
      status: 'down',
      failingSince: new Date(T0).toISOString(),
      failures: [{ id: 'home', status: 500 }],
    })
  })

  it('flapping (fail, pass, fail, pass, fail) opens nothing', () => {
    expect(run([fail(), pass, fail(), pass, fail()]).alerts).toEqual([])
  })

  it('resolves after two passes in a row with the downtime since the first failure', () => {
    const down = [fail(), fail(), fail()]
    const { alerts } = run([...down, pass, fail(), pass, pass])
    expect(alerts).toEqual(['open', 'resolve'])
    let state = run(down).state
    state = nextMonitorState(state, pass, T0 + 100_000, SETTINGS).state
    expect(state.status).toBe('recovering')
    const resolved = nextMonitorState(state, pass, T0 + 115_000, SETTINGS)
    expect(resolved.alert).toEqual({
      kind: 'resolve',
      at: new Date(T0 + 115_000).toISOString(),
      downtimeMs: 115_000,
    })
    expect(resolved.state).toMatchObject({ status: 'up', incidentIssue: 7 })
  })

  it('comments when what fails changes, and reminds once per reminder interval', () => {
    const down = run([fail(), fail(), fail()]).state
    const same = nextMonitorState(down, fail(), T0 + 60_000, SETTINGS)
    expect(same.alert).toBeNull()
    const changed = nextMonitorState(down, fail(404), T0 + 60_000, SETTINGS)
    expect(changed.alert?.kind).toBe('change')
    const late = nextMonitorState(down, fail(), T0 + 30_000 + 3_600_000, SETTINGS)
    expect(late.alert?.kind).toBe('remind')
    const again = nextMonitorState(
      { ...late.state, pending: null },
      fail(),
      T0 + 30_000 + 3_660_000,
      SETTINGS,
    )
    expect(again.alert).toBeNull()
  })

  it('muted: keeps counting without alerting, and opens once maintenance is over', () => {
    const muted = run([fail(), fail(), fail(), fail()], 15_000, { muted: true })
    expect(muted.alerts).toEqual([])
    expect(muted.state).toMatchObject({ status: 'failing', consecutiveFailures: 4 })
    const after = nextMonitorState(muted.state, fail(), T0 + 60_000, SETTINGS)
    expect(after.alert?.kind).toBe('open')
  })
})
