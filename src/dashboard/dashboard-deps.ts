import type { Logger } from 'pino'
import type { Enqueue } from '../app-deps.js'
import type { AppConfig } from '../config/load-env.js'
import type { Queue } from '../queue/queue.js'
import type {
  ApiTokenStore,
  AuditStore,
  DeploymentStore,
  LockStore,
  MonitorStore,
  TaskStore,
  TestRunStore,
} from '../store/store.js'
import type { Principal } from './principal.js'
import type { RoleChecker } from './roles.js'

/** What the dashboard reads and writes: store parts, the queue, and GitHub roles. */
export interface DashboardDeps {
  config: AppConfig
  store: TaskStore &
    DeploymentStore &
    LockStore &
    AuditStore &
    TestRunStore &
    ApiTokenStore &
    Pick<MonitorStore, 'getMonitorState'>
  queue: { enqueue: Enqueue; listJobs: Queue['listJobs']; countJobs: Queue['countJobs'] }
  roles: RoleChecker
  log: Logger
}

/** One page request: who asks, the URL, and the dependencies. */
export interface View {
  deps: DashboardDeps
  principal: Principal
  url: URL
  /** The audit log's request id (the caller's X-Request-Id when it looks like one). */
  requestId: string
  /** The address the request came from (the socket's). */
  sourceIp: string | null
}

/** The CSRF token of the principal's forms (scripts with a token header need none). */
export function csrfOf(principal: Principal): string | undefined {
  return principal.kind === 'github' ? principal.session.csrf : undefined
}

/** The repository and environment of a deploy lock's key (`owner/repo:env`). */
export function lockTarget(env: string): { repo: string; environment: string } {
  const colon = env.lastIndexOf(':')
  return colon < 0
    ? { repo: env, environment: '' }
    : { repo: env.slice(0, colon), environment: env.slice(colon + 1) }
}
