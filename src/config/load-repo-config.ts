import { compileSchema } from '../manifest/compile-schema.js'
import { loadDocument } from '../manifest/load-document.js'
import type { ManifestProblem } from '../manifest/types.js'
import { sortProblems, validateDocument } from '../manifest/validate-document.js'
import type { NotificationEventType } from '../notify/events.js'

export type Permission = 'read' | 'triage' | 'write' | 'maintain' | 'admin'
/** How code is generated: built-in templates, an agent command, or a coding-agent preset. */
export type GeneratorKind = 'scaffold' | 'command' | 'agent'
/** The coding-agent presets DevSys knows how to run. */
export type AgentName = 'opencode' | 'codex'
export type CommandName = 'deploy' | 'rollback' | 'test' | 'revise' | 'help' | 'intake'

/** One deploy environment from `.github/devsys.yml`. */
export interface EnvironmentConfig {
  target: 'local' | 'php' | 'ssh'
  url?: string
  /** Overrides permissions.deploy for this environment. */
  deployPermission?: Permission
  keepReleases: number
  /** Folders that outlive releases (relative to the project root). */
  shared: string[]
  /**
   * Settings of the php target (always present; used when target is 'php'). `path` is relative
   * to the repository's own folder in the container.
   */
  php: { container?: string; path?: string }
  /** Present when target is 'ssh'. `path` is relative to the repository's folder on the host. */
  ssh?: { host: string; port: number; user: string; path?: string }
  /** This environment's monitoring, over the top-level `monitor` (src/monitor/monitor-settings.ts). */
  monitor?: MonitorConfig
}

/** `monitor` as written (top level or per environment); defaults in monitorSettings(). */
export interface MonitorConfig {
  enabled?: boolean
  intervalSeconds?: number
  retryIntervalSeconds?: number
  failureThreshold?: number
  successThreshold?: number
  reminderMinutes?: number
  autoRollback?: boolean
  autoRollbackMinutes?: number
  maintenance?: Array<{ start: string; end: string }>
}

/** One `notifications:` entry: these events, of these environments, to these destinations. */
export interface NotificationSubscription {
  events: NotificationEventType[]
  /** Absent: every environment. Events of no environment are never filtered out. */
  environments?: string[]
  /** Names of the server's destinations. */
  destinations: string[]
}

/** The repository's `.github/devsys.yml` with every default applied (specs/config.schema.json). */
export interface RepoConfig {
  label: string
  manifests: string[]
  /** Globs of Spec Kit specs (spec.md) that a push turns into tasks. */
  specs: string[]
  environments: Record<string, EnvironmentConfig>
  runner: 'local' | 'docker' | 'remote-ssh' | 'auto'
  generator: {
    kind: GeneratorKind
    /** Present when kind is 'command'. */
    command?: string[]
    /** Present when kind is 'agent'. */
    agent?: AgentName
    /** The model the agent asks for; default the server's AGENT_MODEL. */
    model?: string
    /** Agent and command generators: runs per generation, the first included (self-fix loop). */
    maxIterations: number
    /** Agent and command generators: time budget of one generation, test runs included. */
    budgetSeconds: number
    timeoutSeconds: number
    forbiddenPaths: string[]
  }
  draftUntilTestsPass: boolean
  permissions: Record<CommandName, Permission>
  /** Monitoring of live environments, for all of them (absent: the defaults). */
  monitor?: MonitorConfig
  notifications: NotificationSubscription[]
}

export type RepoConfigResult =
  | { ok: true; config: RepoConfig }
  | { ok: false; problems: ManifestProblem[] }

/** Largest repo config read, in UTF-8 bytes. */
const MAX_CONFIG_BYTES = 256 * 1024

const getValidator = compileSchema('config.schema.json')

/**
 * Parses and validates the repo config. null (no file), empty text or a file of only comments
 * give the full defaults; otherwise every problem is returned, positioned in the file.
 */
export function parseRepoConfig(
  text: string | null,
  path = '.github/devsys.yml',
): RepoConfigResult {
  const loaded = loadDocument(
    text ?? '',
    { label: path, path, format: 'yaml' },
    { maxBytes: MAX_CONFIG_BYTES, what: 'config file', emptyValue: {} },
  )
  if (!loaded.ok) return loaded
  const problems = sortProblems([
    ...loaded.problems,
    ...validateDocument(loaded.doc, getValidator()),
  ])
  if (problems.length > 0) return { ok: false, problems }
  return { ok: true, config: loaded.doc.value as RepoConfig }
}
