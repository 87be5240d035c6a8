import type { ReleaseDiff, UploadResult } from '../deploy/types.js'
import { redact } from '../secrets/redact.js'
import type { DeployLockHolder } from '../store/store.js'
import type { AcceptanceResult } from '../verify/run-acceptance.js'

const short = (sha: string) => sha.slice(0, 7)

/** How many paths of each kind a dry run lists before it only counts the rest. */
const DRY_RUN_LIST_LIMIT = 200

/** The answer to `/deploy --dry-run`: what deploying the commit would change on the live site. */
export function formatDryRun(input: {
  environment: string
  sha: string
  releaseId: string
  live: string | null
  diff: ReleaseDiff
}): string {
  const { diff } = input
  const total = diff.added.length + diff.changed.length + diff.removed.length
  const head = `### Dry run: deploying ${short(input.sha)} to \`${input.environment}\``
  if (input.live === input.releaseId) {
    return `${head}\n\nThis commit's files are already live in \`${input.environment}\`; a deploy would change nothing.`
  }
  const lines = [
    head,
    '',
    input.live === null
      ? `Nothing is deployed to \`${input.environment}\` yet; every file would be added.`
      : `Against the live release \`${short(input.live)}\`: ${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed.`,
  ]
  if (total === 0) lines.push('', 'The files are the same as the live ones.')
  for (const [label, paths] of [
    ['Added', diff.added],
    ['Changed', diff.changed],
    ['Removed', diff.removed],
  ] as const) {
    if (paths.length === 0) continue
    lines.push('', `**${label} (${paths.length})**`, '')
    for (const path of paths.slice(0, DRY_RUN_LIST_LIMIT)) lines.push(`- \`${path}\``)
    if (paths.length > DRY_RUN_LIST_LIMIT)
      lines.push(`- … and ${paths.length - DRY_RUN_LIST_LIMIT} more`)
  }
  lines.push('', 'Nothing was deployed. Comment `/deploy` to deploy it.')
  return lines.join('\n')
}

/** The answer when another deploy still held the environment after DevSys waited for it. */
export function formatLocked(
  environment: string,
  holder: DeployLockHolder,
  /** The command to send again: `/deploy`, `/rollback`. */
  command = '/deploy',
): string {
  return [
    `### \`${environment}\` is busy`,
    '',
    `Another deploy holds \`${environment}\`: ${holder.reason} (since ${holder.acquiredAt}; the lock ` +
      `expires at ${holder.expiresAt} if that deploy stops answering).`,
    '',
    `DevSys waited for it, but it did not finish in time, so nothing was changed. Comment \`${command}\` again when it has finished.`,
  ].join('\n')
}

export interface DeployReport {
  environment: string
  sha: string
  releaseId: string
  url: string | null
  upload: UploadResult
  verification: AcceptanceResult | { skipped: string }
  /** Set when verification failed: what was done about it. */
  switchedBackTo?: string | null
}

/** The answer after a deploy went live (and passed or failed verification). */
export function formatDeployed(report: DeployReport): string {
  const { upload } = report
  const sent = upload.alreadyThere
    ? 'the release was already on the target, so only `current` was switched'
    : `${upload.sent} file(s) sent, ${upload.reused} reused from the live release`
  const verification = report.verification
  const failed = 'ok' in verification && !verification.ok
  const lines = [
    failed
      ? `### Deploy of ${short(report.sha)} to \`${report.environment}\` failed verification`
      : `### Deployed ${short(report.sha)} to \`${report.environment}\``,
    '',
    `Release \`${short(report.releaseId)}\` (${sent}).`,
  ]
  if (report.url !== null && !failed) lines.push('', `Live at ${report.url}`)
  if ('skipped' in verification) lines.push('', `Not verified: ${verification.skipped}.`)
  else {
    const passed = verification.checks.filter((c) => c.ok).length
    lines.push('', `Acceptance: ${passed} of ${verification.checks.length} checks passed.`)
    for (const check of verification.checks.filter((c) => !c.ok)) {
      lines.push(
        `- **${check.id}** (\`${check.method} ${check.path}\`): ${check.problems.join('; ')}`,
      )
    }
  }
  if (failed) {
    lines.push(
      '',
      report.switchedBackTo
        ? `DevSys switched \`${report.environment}\` straight back to release \`${short(report.switchedBackTo)}\` and marked this one bad.`
        : `There was no earlier release to switch back to; the failing release stays live and is marked bad.`,
    )
  }
  return lines.join('\n')
}

/** The answer when a deploy stopped before going live. */
export function formatDeployFailed(environment: string, sha: string, message: string): string {
  return [
    `### Deploy of ${short(sha)} to \`${environment}\` failed`,
    '',
    redact(message),
    '',
    `The live site of \`${environment}\` was not changed.`,
  ].join('\n')
}

/** The answer to `/rollback`. */
export function formatRolledBack(input: {
  environment: string
  from: { sha: string; releaseId: string }
  to: { sha: string; releaseId: string }
  url: string | null
}): string {
  return [
    `### Rolled back \`${input.environment}\``,
    '',
    `\`${input.environment}\` serves release \`${short(input.to.releaseId)}\` (commit ${short(input.to.sha)}) ` +
      `again instead of \`${short(input.from.releaseId)}\` (commit ${short(input.from.sha)}), which is marked bad.`,
    ...(input.url === null ? [] : ['', `Live at ${input.url}`]),
    '',
    `DevSys is reverting ${short(input.from.sha)} on the default branch, so that it describes what is live.`,
  ].join('\n')
}

/**
 * The answer to `/rollback` when no earlier release is kept to switch back to: the merge is
 * reverted and the revert's deploy takes the site to the default branch as it was before it.
 * A release deployed from a PR branch has no merge to revert: then nothing was changed.
 */
export function formatRollbackByRevert(input: {
  environment: string
  sha: string
  defaultBranch: string
  /** No deploy of the environment came before this one. */
  first: boolean
  /** The live release came from a merge (so there is a merge to revert). */
  revertable: boolean
}): string {
  const env = `\`${input.environment}\``
  const why = input.first
    ? `${short(input.sha)} was the first deploy of ${env}, so there is no earlier release to switch back to.`
    : `No release of ${env} earlier than ${short(input.sha)} is still kept on the target to switch back to.`
  if (!input.revertable) {
    return [
      `### Nothing to roll ${env} back to`,
      '',
      `${why} It was deployed from a pull request's branch with \`/deploy\`, so there is no merge on \`${input.defaultBranch}\` to revert either. DevSys changed nothing.`,
      '',
      `To replace it, comment \`/deploy\` on the pull request whose code should be live.`,
    ].join('\n')
  }
  return [
    `### Rolling back ${env}`,
    '',
    why,
    '',
    `DevSys marked it bad and is reverting ${short(input.sha)} on \`${input.defaultBranch}\`. The revert deploys like any merge and takes ${env} to what \`${input.defaultBranch}\` held before it; until then ${env} serves ${short(input.sha)}.`,
  ].join('\n')
}

/** What became of the revert that keeps the default branch equal to what is live. */
export function formatReverted(
  revert:
    | { kind: 'pushed'; sha: string; branch: string }
    | { kind: 'pull-request'; url: string; number: number; branch: string }
    | { kind: 'already-reverted'; sha: string }
    | { kind: 'failed'; message: string },
  bad: string,
  /** The branch the revert is for (the repository's default branch). */
  defaultBranch: string,
): string {
  switch (revert.kind) {
    case 'pushed':
      return `Reverted ${short(bad)} on \`${revert.branch}\` with ${short(revert.sha)}.`
    case 'pull-request':
      return `\`${defaultBranch}\` is protected, so the revert of ${short(bad)} is pull request #${revert.number} (branch \`${revert.branch}\`): ${revert.url}. Merge it so that \`${defaultBranch}\` describes what is live.`
    case 'already-reverted':
      return `${short(bad)} was already reverted by ${short(revert.sha)}.`
    case 'failed':
      return `DevSys could not revert ${short(bad)}: ${redact(revert.message)}`
  }
}
