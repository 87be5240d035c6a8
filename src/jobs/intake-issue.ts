import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import { getRole, hasRole } from '../github/check-permission.js'
import { readRepoFile } from '../github/read-repo-file.js'
import { acceptManifest } from '../intake/accept-manifest.js'
import { startGeneration } from '../intake/start-generation.js'
import { extractManifestFromIssue } from '../manifest/extract-manifest.js'
import type { ManifestOrigin } from '../manifest/types.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import {
  formatAcceptedComment,
  formatProblems,
  formatRejectedComment,
  formatStopComment,
} from '../report/format-intake.js'
import { reactToIssue } from '../report/reaction.js'
import { upsertStickyComment } from '../report/sticky-comment.js'
import type { Store } from '../store/store.js'
import type { IssueIntakePayload } from '../triggers/issue-intake.js'

/** Sticky comment kind for intake results on an issue. */
export const INTAKE_COMMENT = 'intake'

export interface IntakeDeps {
  store: Store
  auth: GitHubAuth
  /** Starts follow-up jobs (the generation of an accepted task). */
  enqueue: Enqueue
  maxManifestBytes: number
}

/** The `intake-issue` job: turns a labelled issue's manifest into a task, or explains why not. */
export function createIntakeIssueJob(deps: IntakeDeps): JobHandler<IssueIntakePayload> {
  return {
    kind: 'intake-issue',
    async run(payload) {
      const github = await deps.auth(payload.installationId)
      return intakeIssue(github, deps, payload)
    },
    async onFailed(payload, error) {
      const github = await deps.auth(payload.installationId)
      await comment(
        github,
        deps,
        payload,
        formatStopComment(
          'DevSys could not process this issue',
          `${error}\n\nDevSys gave up after retrying. Edit the issue to try again.`,
        ),
      )
    },
  }
}

async function intakeIssue(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: IssueIntakePayload,
): Promise<Outcome> {
  const { owner, repo } = payload
  // 1. The repo config says which label marks a DevSys issue and who may use it.
  const loaded = await fetchRepoConfig(github, { owner, repo })
  if (!loaded.ok) {
    await comment(
      github,
      deps,
      payload,
      [
        '### DevSys cannot read its repo config',
        '',
        formatProblems(REPO_CONFIG_PATH, loaded.problems),
        '',
        `Fix \`${REPO_CONFIG_PATH}\` on the default branch, then edit this issue.`,
      ].join('\n'),
    )
    return { status: 'rejected', reason: 'invalid-repo-config', summary: 'repo config is invalid' }
  }
  const config = loaded.config
  if (!payload.labels.includes(config.label)) {
    return {
      status: 'skipped',
      reason: 'not-labelled',
      summary: `issue has no '${config.label}' label`,
    }
  }
  if (payload.addedLabel !== null && payload.addedLabel !== config.label) {
    return {
      status: 'skipped',
      reason: 'other-label',
      summary: `label '${payload.addedLabel}' is not DevSys's`,
    }
  }
  // 2. Only people allowed to start work get generated code (a label can come from a template).
  const required = config.permissions.intake
  const role = await getRole(github, { owner, repo, user: payload.requester })
  if (!hasRole(role, required)) {
    await comment(
      github,
      deps,
      payload,
      formatStopComment(
        'DevSys did not start this task',
        `@${payload.requester} has the '${role}' role on ${payload.fullName}; creating a task needs '${required}'. Ask a maintainer to re-label the issue.`,
      ),
    )
    return {
      status: 'rejected',
      reason: 'permission',
      summary: `${payload.requester} lacks ${required}`,
    }
  }
  // 3. Find the manifest: a fenced block in the body, or a file the body names.
  const found = await findManifest(github, deps, payload)
  if (found.kind === 'stop') {
    await comment(
      github,
      deps,
      payload,
      formatStopComment('DevSys found no manifest to read', found.message),
    )
    await reactToIssue(github, { owner, repo, issue: payload.issue, content: 'confused' })
    return { status: 'rejected', reason: found.reason, summary: found.message }
  }
  // 4. Validate and store the task; report every problem at once when there are any.
  const acceptance = await acceptManifest(deps.store, {
    text: found.text,
    origin: found.origin,
    source: {
      kind: 'issue',
      repo: payload.fullName,
      issue: payload.issue,
      ...(found.origin.path === undefined ? {} : { path: found.origin.path }),
      key: `issue:${payload.fullName}#${payload.issue}`,
      requester: payload.requester,
      requesterId: payload.requesterId,
      url: payload.issueUrl,
      installationId: payload.installationId,
    },
    maxBytes: deps.maxManifestBytes,
  })
  if (acceptance.kind !== 'saved') {
    await comment(github, deps, payload, formatRejectedComment(found.origin.label, acceptance))
    await reactToIssue(github, { owner, repo, issue: payload.issue, content: 'confused' })
    return {
      status: 'rejected',
      reason: acceptance.kind,
      summary: `${acceptance.problems.length} problem(s)`,
    }
  }
  // 5. Acknowledge (a reaction and the sticky status comment), then generate the code.
  await reactToIssue(github, { owner, repo, issue: payload.issue, content: 'rocket' })
  await comment(github, deps, payload, formatAcceptedComment(acceptance.task, acceptance.result))
  await startGeneration(deps.enqueue, acceptance.task, acceptance.result, {
    installationId: payload.installationId,
    repo: {
      owner,
      name: repo,
      fullName: payload.fullName,
      cloneUrl: payload.cloneUrl,
      htmlUrl: payload.htmlUrl,
      defaultBranch: payload.defaultBranch,
    },
    requester: payload.requester,
    requesterId: payload.requesterId,
  })
  return {
    status: 'done',
    summary: `task ${acceptance.task.id} ${acceptance.result}`,
    details: { task: acceptance.task.id, result: acceptance.result },
  }
}

type FoundManifest =
  | { kind: 'found'; text: string; origin: ManifestOrigin }
  | { kind: 'stop'; reason: string; message: string }

async function findManifest(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: IssueIntakePayload,
): Promise<FoundManifest> {
  const extracted = extractManifestFromIssue(payload.body)
  switch (extracted.kind) {
    case 'inline':
      return {
        kind: 'found',
        text: extracted.text,
        origin: {
          label: `issue #${payload.issue} body`,
          format: extracted.format,
          lineOffset: extracted.lineOffset,
        },
      }
    case 'invalid':
      return { kind: 'stop', reason: 'invalid-reference', message: extracted.message }
    case 'none':
      return {
        kind: 'stop',
        reason: 'no-manifest',
        message:
          'Put the manifest in the issue body as a ```json or ```yaml block, or name a file in the repository on a line of its own: `manifest: specs/my-project.json`.',
      }
    case 'file': {
      const file = await readRepoFile(github, {
        owner: payload.owner,
        repo: payload.repo,
        path: extracted.path,
        ref: payload.defaultBranch,
        maxBytes: deps.maxManifestBytes,
      })
      if (file.kind === 'found') {
        return {
          kind: 'found',
          text: file.text,
          origin: { label: extracted.path, path: extracted.path },
        }
      }
      const why =
        file.kind === 'missing'
          ? `\`${extracted.path}\` does not exist on the default branch (${payload.defaultBranch})`
          : file.kind === 'too-large'
            ? `\`${extracted.path}\` is ${file.size} bytes, over the ${deps.maxManifestBytes}-byte limit`
            : `\`${extracted.path}\` is a ${file.type}, not a file`
      return {
        kind: 'stop',
        reason: `file-${file.kind}`,
        message: `${why}. Fix the reference and edit the issue.`,
      }
    }
  }
}

function comment(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: IssueIntakePayload,
  body: string,
) {
  return upsertStickyComment(github, deps.store, {
    owner: payload.owner,
    repo: payload.repo,
    issue: payload.issue,
    kind: INTAKE_COMMENT,
    body,
  })
}
