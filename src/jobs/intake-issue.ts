import type { GitHubClient, IntakeDeps } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import type { Permission } from '../config/load-repo-config.js'
import { getRole, hasRole } from '../github/check-permission.js'
import { readRepoFile } from '../github/read-repo-file.js'
import { type StoredPayload, withRepoRef } from '../github/repo-ref.js'
import { acceptManifest } from '../intake/accept-manifest.js'
import { isSpecPath, readSpecContext } from '../intake/read-spec-context.js'
import { startGeneration } from '../intake/start-generation.js'
import type { SpecContext } from '../manifest/build-task-spec.js'
import { extractManifestFromIssue } from '../manifest/extract-manifest.js'
import type { ManifestOrigin } from '../manifest/types.js'
import { publish } from '../notify/events.js'
import { acceptanceEvent, textDigest } from '../notify/state-events.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { INTAKE_COMMENT } from '../report/comment-kinds.js'
import {
  formatAcceptedComment,
  formatProblems,
  formatRejectedComment,
  formatStopComment,
} from '../report/format-intake.js'
import { type Reply, replyOn } from '../report/reply.js'
import type { IssueIntakePayload } from '../triggers/issue-intake.js'

/** The `intake-issue` job: turns a labelled issue's manifest into a task, or explains why not. */
export function createIntakeIssueJob(
  deps: IntakeDeps,
): JobHandler<StoredPayload<IssueIntakePayload>> {
  return {
    kind: 'intake-issue',
    async run(stored) {
      const payload = withRepoRef(stored)
      const github = await deps.auth(payload.installationId)
      return intakeIssue(github, deps, payload, replyTo(github, deps, payload))
    },
    async onFailed(stored, error) {
      const payload = withRepoRef(stored)
      const github = await deps.auth(payload.installationId)
      await replyTo(github, deps, payload).say(
        formatStopComment(
          'DevSys could not process this issue',
          `${error}\n\nDevSys gave up after retrying. Edit the issue to try again.`,
        ),
      )
    },
  }
}

/** The job's answers: its intake comment on the issue, reactions on the issue. */
function replyTo(github: GitHubClient, deps: IntakeDeps, payload: IssueIntakePayload): Reply {
  return replyOn(github, deps.store, {
    owner: payload.repo.owner,
    repo: payload.repo.name,
    issue: payload.issue,
    kind: INTAKE_COMMENT,
    asker: { issue: payload.issue },
  })
}

async function intakeIssue(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: IssueIntakePayload,
  reply: Reply,
): Promise<Outcome> {
  const { repo } = payload
  // 1. The repo config says which label marks a DevSys issue and who may use it.
  const loaded = await fetchRepoConfig(github, { owner: repo.owner, repo: repo.name })
  if (!loaded.ok) {
    await reply.say(
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
  const unlabelled = labelSkip(payload, config.label)
  if (unlabelled) return unlabelled
  // 2. Only people allowed to start work get generated code (a label can come from a template).
  const refused = await checkRequester(github, payload, config.permissions.intake, reply)
  if (refused) return refused
  // 3. Find the manifest: a fenced block in the body, or a file the body names.
  const found = await findManifest(github, deps, payload)
  if (found.kind === 'stop') {
    await reply.stop('DevSys found no manifest to read', found.message)
    return { status: 'rejected', reason: found.reason, summary: found.message }
  }
  // 4. Validate and store the task, then generate its code.
  return acceptIssueManifest(deps, payload, found, reply)
}

/** The issue does not carry DevSys's label, or the label just added is another one. */
function labelSkip(payload: IssueIntakePayload, label: string): Outcome | undefined {
  if (!payload.labels.includes(label)) {
    return { status: 'skipped', reason: 'not-labelled', summary: `issue has no '${label}' label` }
  }
  if (payload.addedLabel !== null && payload.addedLabel !== label) {
    return {
      status: 'skipped',
      reason: 'other-label',
      summary: `label '${payload.addedLabel}' is not DevSys's`,
    }
  }
  return undefined
}

/** Whether the requester may create tasks; when not, says so on the issue. */
async function checkRequester(
  github: GitHubClient,
  payload: IssueIntakePayload,
  required: Permission,
  reply: Reply,
): Promise<Outcome | undefined> {
  const { repo, requester } = payload
  const role = await getRole(github, { owner: repo.owner, repo: repo.name, user: requester })
  if (hasRole(role, required)) return undefined
  await reply.say(
    formatStopComment(
      'DevSys did not start this task',
      `@${requester} has the '${role}' role on ${repo.fullName}; creating a task needs '${required}'. Ask a maintainer to re-label the issue.`,
    ),
  )
  return { status: 'rejected', reason: 'permission', summary: `${requester} lacks ${required}` }
}

/**
 * Validates and stores the task, reporting every problem at once when there are any; an
 * accepted task is acknowledged (a reaction and the sticky status comment) and generated.
 */
async function acceptIssueManifest(
  deps: IntakeDeps,
  payload: IssueIntakePayload,
  found: Extract<FoundManifest, { kind: 'found' }>,
  reply: Reply,
): Promise<Outcome> {
  const { repo } = payload
  const acceptance = await acceptManifest(deps.store, {
    text: found.text,
    origin: found.origin,
    source: {
      kind: 'issue',
      repo: repo.fullName,
      issue: payload.issue,
      ...(found.origin.path === undefined ? {} : { path: found.origin.path }),
      key: `issue:${repo.fullName}#${payload.issue}`,
      requester: payload.requester,
      requesterId: payload.requesterId,
      url: payload.issueUrl,
      installationId: payload.installationId,
    },
    maxBytes: deps.maxManifestBytes,
    ...(found.context === undefined ? {} : { context: found.context }),
  })
  const where = { repo: repo.fullName, installationId: payload.installationId }
  await publish(
    deps.notify,
    acceptanceEvent(
      { ...where, source: `issue #${payload.issue}`, url: payload.issueUrl },
      `issue-${payload.issue}@${textDigest(found.text)}`,
      acceptance,
    ),
  )
  if (acceptance.kind !== 'saved') {
    const what = found.origin.speckit || isSpecPath(found.origin.path) ? 'spec' : 'manifest'
    await reply.say(formatRejectedComment(found.origin.label, acceptance, what))
    await reply.react('confused')
    return {
      status: 'rejected',
      reason: acceptance.kind,
      summary: `${acceptance.problems.length} problem(s)`,
    }
  }
  await reply.react('rocket')
  await reply.say(formatAcceptedComment(acceptance.task, acceptance.result))
  await startGeneration(deps.enqueue, acceptance.task, acceptance.result, {
    installationId: payload.installationId,
    repo,
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
  /** context: a Spec Kit spec file's plan.md and tasks.md. */
  | { kind: 'found'; text: string; origin: ManifestOrigin; context?: SpecContext }
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
    case 'spec':
      return {
        kind: 'found',
        text: extracted.text,
        origin: { label: `issue #${payload.issue} body`, speckit: true },
      }
    case 'invalid':
      return { kind: 'stop', reason: 'invalid-reference', message: extracted.message }
    case 'none':
      return {
        kind: 'stop',
        reason: 'no-manifest',
        message:
          'Put the manifest in the issue body as a ```json or ```yaml block, or name a file in the repository on a line of its own: `manifest: specs/my-project.json`, or a Spec Kit spec: `spec: specs/001-my-feature/spec.md`.',
      }
    case 'file': {
      const file = await readRepoFile(github, {
        owner: payload.repo.owner,
        repo: payload.repo.name,
        path: extracted.path,
        ref: payload.repo.defaultBranch,
        maxBytes: deps.maxManifestBytes,
      })
      if (file.kind === 'found') {
        const { path } = extracted
        const context = isSpecPath(path)
          ? await readSpecContext(github, {
              owner: payload.repo.owner,
              repo: payload.repo.name,
              ref: payload.repo.defaultBranch,
              specPath: path,
              maxBytes: deps.maxManifestBytes,
            })
          : undefined
        return {
          kind: 'found',
          text: file.text,
          origin: { label: path, path },
          ...(context === undefined ? {} : { context }),
        }
      }
      const why =
        file.kind === 'missing'
          ? `\`${extracted.path}\` does not exist on the default branch (${payload.repo.defaultBranch})`
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
