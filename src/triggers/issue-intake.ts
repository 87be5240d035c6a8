import type { Context } from 'probot'
import { type RepoRef, repoRefFrom } from '../github/repo-ref.js'
import type { Trigger } from './types.js'

type IssuesPayload = Context<'issues.opened' | 'issues.edited' | 'issues.labeled'>['payload']

/** Payload of an `intake-issue` job: everything the job needs, so it never re-reads the event. */
export interface IssueIntakePayload {
  installationId: number
  /** Where generated code is pushed: the repository as GitHub reports it (GHE-safe). */
  repo: RepoRef
  issue: number
  issueUrl: string
  body: string | null
  labels: string[]
  /** Label added by an `issues.labeled` event, if that is what triggered the job. */
  addedLabel: string | null
  requester: string
  requesterId: number
}

/**
 * Decides whether an issue event may carry a DevSys manifest. The configured label lives in the
 * repo config, which a webhook handler must not fetch (GitHub wants an answer fast), so the job
 * checks the label; this only drops events that can never matter.
 */
export function issueIntakeTrigger(payload: IssuesPayload): Trigger {
  const installationId = payload.installation?.id
  if (installationId === undefined) return { kind: 'ignore', reason: 'no-installation' }
  const { issue, repository } = payload
  if (issue.state === 'closed') return { kind: 'ignore', reason: 'issue-closed' }
  const labels = (issue.labels ?? []).map((label) => label.name)
  if (payload.action !== 'labeled' && labels.length === 0) {
    return { kind: 'ignore', reason: 'no-label' }
  }
  if (payload.action === 'edited' && !payload.changes.body) {
    // A title-only edit cannot change the manifest.
    return { kind: 'ignore', reason: 'body-unchanged' }
  }
  const job: IssueIntakePayload = {
    installationId,
    repo: repoRefFrom(repository),
    issue: issue.number,
    issueUrl: issue.html_url,
    body: issue.body ?? null,
    labels,
    addedLabel: payload.action === 'labeled' ? (payload.label?.name ?? null) : null,
    requester: payload.sender.login,
    requesterId: payload.sender.id,
  }
  // One key per issue: rapid edits coalesce into one run that sees the newest body.
  return {
    kind: 'job',
    job: {
      kind: 'intake-issue',
      key: `intake:${repository.full_name}#${issue.number}`,
      payload: job,
    },
  }
}
