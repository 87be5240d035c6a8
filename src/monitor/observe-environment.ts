import type { Logger } from 'pino'
import type { RepoConfig } from '../config/load-repo-config.js'
import type { TargetFactory } from '../deploy/create-target.js'
import { resolveEnvironment } from '../deploy/environments.js'
import { openTarget } from '../deploy/steps/open-target.js'
import type { AcceptanceTuning } from '../deploy/steps/verify.js'
import { DeployError } from '../deploy/types.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { Deployment, DeploymentStore, MonitorFailure, Task } from '../store/store.js'
import type { ReachPolicy } from '../verify/guard-url.js'
import { EMPTY_ALLOW_LIST } from '../verify/parse-allowed-hosts.js'
import { runAcceptance } from '../verify/run-acceptance.js'
import type { Observation } from './next-monitor-state.js'

/**
 * Every environment that has had a successful deploy (so something is live there), from the
 * deploy history's counts: one aggregate query, no deployment rows read.
 */
export async function listLiveEnvironments(
  store: Pick<DeploymentStore, 'countDeployments'>,
): Promise<{ repo: string; environment: string }[]> {
  const live = new Map<string, { repo: string; environment: string }>()
  for (const { repo, environment, state } of await store.countDeployments()) {
    if (state === 'success') live.set(`${repo}:${environment}`, { repo, environment })
  }
  return [...live.values()]
}

/** One check of the live site, or why it was not checked. */
export type CheckOutcome =
  | { kind: 'checked'; observation: Observation; url: string }
  | {
      kind: 'skipped'
      reason: 'no-checks' | 'no-url' | 'unknown-environment' | 'target-unavailable'
      detail: string
    }

/**
 * Runs the live task's own acceptance checks (the list the PR gate and the deploy's
 * verification use) against the environment's target, reached as the deploy reaches it.
 */
export async function observeEnvironment(
  deps: { targets: TargetFactory; acceptance?: AcceptanceTuning; maxManifestBytes: number },
  input: {
    config: RepoConfig
    live: Deployment
    task: Task | undefined
    signal: AbortSignal
    log: Logger
  },
): Promise<CheckOutcome> {
  const { live, task } = input
  const parsed = task === undefined ? undefined : parseTaskManifest(task, deps.maxManifestBytes)
  const manifest = parsed?.ok === true ? parsed.manifest : null
  const checks = manifest?.acceptance ?? []
  if (checks.length === 0) {
    const detail = `deployment ${live.id} has no task with acceptance checks`
    return { kind: 'skipped', reason: 'no-checks', detail }
  }
  const env = resolveEnvironment(input.config, manifest, live.environment)
  if (!env.ok) return { kind: 'skipped', reason: 'unknown-environment', detail: env.message }
  const target = await openTarget(deps.targets, live.repo, env, input.log)
  if (target instanceof DeployError) {
    return { kind: 'skipped', reason: 'target-unavailable', detail: target.message }
  }
  try {
    if (target.url === null) {
      return { kind: 'skipped', reason: 'no-url', detail: `nothing serves ${live.environment}` }
    }
    const { allowedHosts, ...retry } = deps.acceptance ?? {}
    const reach: ReachPolicy = {
      trustedOrigins: target.trustedOrigin === undefined ? [] : [target.trustedOrigin],
      allowed: allowedHosts ?? EMPTY_ALLOW_LIST,
    }
    const result = await runAcceptance(target.url, checks, {
      ...retry,
      reach,
      signal: input.signal,
    })
    const failures: MonitorFailure[] = result.checks
      .filter((c) => !c.ok)
      .map((c) => ({
        id: c.id,
        request: `${c.method} ${c.path}`,
        status: c.status,
        expected: c.expected,
        problems: c.problems,
        ...(c.excerpt === undefined ? {} : { excerpt: c.excerpt }),
      }))
    const observation = { deploymentId: live.id, ok: result.ok, failures }
    return { kind: 'checked', observation, url: target.url }
  } finally {
    await target.close()
  }
}
