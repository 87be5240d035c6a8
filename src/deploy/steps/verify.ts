import type { GitHubClient } from '../../app-deps.js'
import { REPO_CONFIG_PATH } from '../../config/fetch-repo-config.js'
import type { AcceptanceCheck } from '../../manifest/types.js'
import { withCheckRun } from '../../report/check-run.js'
import type { ReachPolicy } from '../../verify/guard-url.js'
import { type AllowList, EMPTY_ALLOW_LIST } from '../../verify/parse-allowed-hosts.js'
import {
  type AcceptanceResult,
  formatAcceptanceSummary,
  runAcceptance,
} from '../../verify/run-acceptance.js'
import type { DeployTarget } from '../types.js'
import type { ResolvedDeploy } from './types.js'

/** Check run that reports the verification of a deploy. */
const ACCEPTANCE_CHECK = 'DevSys / acceptance'

/**
 * Acceptance retries and pause between them (defaults of runAcceptance), and the server's
 * ACCEPTANCE_ALLOWED_HOSTS (default none: only the target's own trusted origin and public
 * addresses are checked).
 */
export interface AcceptanceTuning {
  retries?: number
  retryDelayMs?: number
  allowedHosts?: AllowList
}

/** How the live site did against its checks, or why it was not checked. */
export type Verification = AcceptanceResult | { skipped: string }

/**
 * Verify: runs the acceptance checks against the live URL, reported as the
 * `DevSys / acceptance` check run (completed on every path, so it never hangs).
 */
export async function verifyLive(
  github: GitHubClient,
  tuning: AcceptanceTuning | undefined,
  p: Pick<ResolvedDeploy, 'repo' | 'sha'>,
  input: {
    environment: string
    target: Pick<DeployTarget, 'url' | 'trustedOrigin'>
    checks: AcceptanceCheck[]
    /** The checks came from the deployed tree, not from the deploy's task. */
    fromTree: boolean
    record: number
    signal: AbortSignal
  },
): Promise<Verification> {
  const { environment, target, checks } = input
  if (checks.length === 0) {
    return {
      skipped: input.fromTree
        ? `${p.sha.slice(0, 7)} is no task's merge and its tree holds no task record with acceptance checks`
        : 'the task has no acceptance checks',
    }
  }
  if (target.url === null) {
    return {
      skipped: `nothing serves \`${environment}\` (set its url in ${REPO_CONFIG_PATH}, or install PHP for the local target)`,
    }
  }
  const url = target.url
  const run = {
    owner: p.repo.owner,
    repo: p.repo.name,
    name: ACCEPTANCE_CHECK,
    headSha: p.sha,
    externalId: String(input.record),
    inProgressTitle: `Verifying ${environment}`,
  }
  return withCheckRun(github, run, {
    async work() {
      const { allowedHosts, ...retry } = tuning ?? {}
      const reach: ReachPolicy = {
        trustedOrigins: target.trustedOrigin === undefined ? [] : [target.trustedOrigin],
        allowed: allowedHosts ?? EMPTY_ALLOW_LIST,
      }
      const result = await runAcceptance(url, checks, {
        ...retry,
        reach,
        signal: input.signal,
      })
      const passed = result.checks.filter((c) => c.ok).length
      const check = {
        conclusion: result.ok ? ('success' as const) : ('failure' as const),
        title: `${passed} of ${result.checks.length} acceptance checks passed in ${environment}`,
        summary: formatAcceptanceSummary(result),
      }
      return { check, value: result }
    },
    // No retry verifies this deploy again: a verification that throws ends the run here.
    failed: (error) => ({
      conclusion: 'cancelled',
      title: 'Verification stopped',
      summary: `DevSys stopped verifying ${environment}: ${error instanceof Error ? error.message : String(error)}`,
    }),
  })
}

/** Whether the checks ran and failed (skipped checks do not fail a deploy). */
export function failedVerification(verification: Verification): boolean {
  return 'ok' in verification && !verification.ok
}

/** The verification as the deploy's record keeps it. */
export function verificationRecord(verification: Verification): Record<string, unknown> {
  return 'ok' in verification
    ? (verification as unknown as Record<string, unknown>)
    : { skipped: verification.skipped }
}
