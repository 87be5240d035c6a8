import type { MonitorConfig, RepoConfig } from '../config/load-repo-config.js'

/** An environment's monitoring with every default applied. */
export interface MonitorSettings {
  enabled: boolean
  intervalMs: number
  /** Between checks while a failure or a recovery is pending: faster than intervalMs. */
  retryIntervalMs: number
  failureThreshold: number
  successThreshold: number
  /** 0: no reminders. */
  reminderMs: number
  autoRollback: boolean
  autoRollbackMs: number
  maintenance: Array<{ start: number; end: number }>
}

const DEFAULTS = {
  enabled: true,
  intervalSeconds: 60,
  retryIntervalSeconds: 15,
  failureThreshold: 3,
  successThreshold: 2,
  reminderMinutes: 60,
  autoRollback: false,
  autoRollbackMinutes: 30,
} as const

/** The defaults, under the repo config's `monitor`, under the environment's own `monitor`. */
export function monitorSettings(config: RepoConfig, environment: string): MonitorSettings {
  const own: MonitorConfig = config.environments[environment]?.monitor ?? {}
  const m = { ...DEFAULTS, ...config.monitor, ...own }
  const windows = own.maintenance ?? config.monitor?.maintenance ?? []
  return {
    enabled: m.enabled,
    intervalMs: m.intervalSeconds * 1000,
    retryIntervalMs: Math.min(m.retryIntervalSeconds, m.intervalSeconds) * 1000,
    failureThreshold: m.failureThreshold,
    successThreshold: m.successThreshold,
    reminderMs: m.reminderMinutes * 60_000,
    autoRollback: m.autoRollback,
    autoRollbackMs: m.autoRollbackMinutes * 60_000,
    maintenance: windows.map((w) => ({ start: Date.parse(w.start), end: Date.parse(w.end) })),
  }
}

/** Whether `now` falls in one of the configured maintenance windows. */
export function inMaintenanceWindow(settings: MonitorSettings, now: number): boolean {
  return settings.maintenance.some((w) => w.start <= now && now < w.end)
}
