import { describe, expect, it } from 'vitest'
import { parseRepoConfig } from '../../src/config/load-repo-config.js'
import { inMaintenanceWindow, monitorSettings } from '../../src/monitor/monitor-settings.js'

function config(text: string | null) {
  const parsed = parseRepoConfig(text)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
  return parsed.config
}

describe('monitorSettings', () => {
  it('gives the defaults without a monitor section', () => {
    expect(monitorSettings(config(null), 'production')).toEqual({
      enabled: true,
      intervalMs: 60_000,
      retryIntervalMs: 15_000,
      failureThreshold: 3,
      successThreshold: 2,
      reminderMs: 3_600_000,
      autoRollback: false,
      autoRollbackMs: 1_800_000,
      maintenance: [],
    })
  })

  it("takes the repo's keys, then the environment's own, and never retries slower than the interval", () => {
    const text = [
      'monitor:',
      '  intervalSeconds: 10',
      '  failureThreshold: 5',
      '  maintenance: [{ start: "2026-03-01T22:00:00Z", end: "2026-03-01T23:00:00Z" }]',
      'environments:',
      '  production:',
      '    target: local',
      '    monitor: { autoRollback: true, autoRollbackMinutes: 10 }',
      '  staging:',
      '    target: local',
    ].join('\n')
    const production = monitorSettings(config(text), 'production')
    expect(production).toMatchObject({
      intervalMs: 10_000,
      retryIntervalMs: 10_000,
      failureThreshold: 5,
      autoRollback: true,
      autoRollbackMs: 600_000,
    })
    expect(monitorSettings(config(text), 'staging')).toMatchObject({ autoRollback: false })
    expect(inMaintenanceWindow(production, Date.parse('2026-03-01T22:30:00Z'))).toBe(true)
    expect(inMaintenanceWindow(production, Date.parse('2026-03-01T23:00:00Z'))).toBe(false)
  })

  it('refuses unknown keys and times without a zone, saying where', () => {
    const bad = parseRepoConfig(
      'monitor:\n  intervalSecs: 5\n  maintenance: [{ start: "tomorrow", end: "2026-03-01T23:00:00Z" }]\n',
    )
    expect(bad.ok).toBe(false)
    if (bad.ok) return
    const text = JSON.stringify(bad.problems)
    expect(text).toContain('intervalSecs')
    expect(text).toContain('/monitor/maintenance/0/start')
  })
})
