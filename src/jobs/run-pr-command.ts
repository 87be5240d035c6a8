import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig } from '../config/fetch-repo-config.js'
import type { RepoConfig } from '../config/load-repo-config.js'
import { type ResolvedEnvironment, resolveEnvironment } from '../deploy/environments.js'
import { getRole, hasRole } from '../github/check-permission.js'
import { startTests } from '../intake/start-tests.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { formatHelp } from '../report/format-help.js'
import { formatStopComment } from '../report/format-intake.js'
import { reactToComment } from '../report/reaction.js'
import { upsertStickyComment } from '../report/sticky-comment.js'
import type { Store, Task } from '../store/store.js'
import {
  type DeployPayload,
  deployJobKey,
  type GeneratePayload,
  generateJobKey,
  type RollbackPayload,
  rollbackJobKey,
} from '../triggers/job-payloads.js'
import type { PrCommandPayload } from '../triggers/pr-command.js'

/** Commands this DevSys version carries out; the others are listed by /help as coming. */
export const AVAILABLE_COMMANDS: ReadonlySet<string> = new Set([
  'deploy',
  'rollback',
  'revise',
  'test',
  'help',
])

/** Sticky comment kind for answers to commands on a PR. */
export const COMMAND_COMMENT = 'command'

export interface PrCommandDeps {
  store: Store
  auth: GitHubAuth
  enqueue: Enqueue
  maxManifestBytes: number
}

/** The `pr-command` job: checks who asked, reacts, and starts the work or explains why not. */
export function createPrCommandJob(deps: PrCommandDeps): JobHandler<PrCommandPayload> {
  return {
    kind: 'pr-command',
    async run(payload, ctx) {
      // GitHub's comment id, not the delivery id, names a command: a replayed (re-signed)
      // delivery of the same comment is a new job and must neither run nor react.
      if (!(await deps.store.claimComment(payload.fullName, payload.commentId, ctx.job.id))) {
        return {
          status: 'skipped',
          reason: 'comment-already-handled',
          summary: `comment ${payload.commentId} was already handled by another job`,
        }
      }
      const github = await deps.auth(payload.installationId)
      return runCommand(github, deps, payload)
    },
    async onFailed(payload, error) {
      const github = await deps.auth(payload.installationId)
      await answer(
        github,
        deps,
        payload,
        formatStopComment('DevSys could not run the command', error),
      )
      await react(github, payload, 'confused')
    },
  }
}

async function runCommand(
  github: GitHubClient,
  deps: PrCommandDeps,
  payload: PrCommandPayload,
): Promise<Outcome> {
  const { parsed } = payload
  // 1. Say what is wrong with a malformed command.
  if (parsed.kind === 'invalid') {
    return refuse(
      github,
      deps,
      payload,
      { reason: 'invalid-command', summary: parsed.message },
      `DevSys did not understand \`/${parsed.name}\``,
      parsed.message,
    )
  }
  const { command } = parsed
  if (command.name === 'help') {
    await answer(github, deps, payload, formatHelp(AVAILABLE_COMMANDS))
    return { status: 'done', summary: 'help shown' }
  }
  // 2. Only people with the configured role may change code, test or deploy.
  const loaded = await fetchRepoConfig(github, { owner: payload.owner, repo: payload.repo })
  if (!loaded.ok) {
    return refuse(
      github,
      deps,
      payload,
      { reason: 'invalid-repo-config', summary: 'repo config is invalid' },
      'DevSys cannot read its repo config',
      'Fix `.github/devsys.yml` on the default branch, then try again.',
    )
  }
  // The PR's task (checked in step 3), read now: a deploy needs the permission of the
  // environment it goes to (deployPermission), which may come from the task's manifest.
  const task = await deps.store.findTaskByPullRequest(payload.fullName, payload.pr)
  const environment =
    command.name === 'deploy' || command.name === 'rollback'
      ? environmentOf(
          deps,
          loaded.config,
          task,
          command.name === 'deploy' ? command.environment : null,
        )
      : undefined
  const required =
    environment?.ok === true && command.name === 'deploy'
      ? environment.permission
      : loaded.config.permissions[command.name]
  const role = await getRole(github, {
    owner: payload.owner,
    repo: payload.repo,
    user: payload.commenter,
  })
  if (!hasRole(role, required)) {
    return refuse(
      github,
      deps,
      payload,
      { reason: 'permission', summary: `${payload.commenter} lacks ${required}` },
      `DevSys did not run \`/${command.name}\``,
      `@${payload.commenter} has the '${role}' role on ${payload.fullName}; \`/${command.name}\` needs '${required}'.`,
    )
  }
  if (!AVAILABLE_COMMANDS.has(command.name)) {
    return refuse(
      github,
      deps,
      payload,
      { reason: 'not-available', summary: `/${command.name} not available` },
      `\`/${command.name}\` is not available yet`,
      'This DevSys version does not carry it out yet. Comment `/help` for the commands it has.',
    )
  }
  // 3. The PR must be a DevSys task's.
  if (!task) {
    return refuse(
      github,
      deps,
      payload,
      { reason: 'not-a-task', summary: 'PR has no task' },
      'This pull request is not a DevSys task',
      'DevSys commands work on the pull requests DevSys opened for a task.',
    )
  }
  // 4. /revise: acknowledge now, regenerate in the task's own serialized job.
  if (command.name === 'revise') {
    await react(github, payload, 'eyes')
    const job: GeneratePayload = {
      installationId: payload.installationId,
      taskId: task.id,
      repo: repoOf(payload),
      reason: 'revise',
      feedback: command.feedback,
      requester: payload.commenter,
      requesterId: payload.commenterId,
      commentId: payload.commentId,
    }
    await deps.enqueue({ kind: 'generate', key: generateJobKey(task), payload: job })
    return { status: 'done', summary: `revision of ${task.id} queued` }
  }
  // 5. Tests and deploys run code from the PR's branch: never from a fork.
  const { data: pr } = await github.rest.pulls.get({
    owner: payload.owner,
    repo: payload.repo,
    pull_number: payload.pr,
  })
  if (pr.head.repo?.full_name !== payload.fullName) {
    return refuse(
      github,
      deps,
      payload,
      { reason: 'fork', summary: 'PR head is in a fork' },
      `DevSys does not run \`/${command.name}\` on forks`,
      `The branch of this pull request lives in ${pr.head.repo?.full_name ?? 'a deleted repository'}, not in ${payload.fullName}; DevSys only tests and deploys code pushed to ${payload.fullName} itself.`,
    )
  }
  if (environment !== undefined && !environment.ok) {
    return refuse(
      github,
      deps,
      payload,
      { reason: 'unknown-environment', summary: environment.message },
      `DevSys did not run \`/${command.name}\``,
      environment.message,
    )
  }
  // 6. /deploy: the PR's head commit to the environment, in a deploy job (which takes its lock).
  if (command.name === 'deploy' && environment?.ok === true) {
    await react(github, payload, 'eyes')
    const job: DeployPayload = {
      installationId: payload.installationId,
      repo: repoOf(payload),
      trigger: 'command',
      environment: environment.name,
      sha: pr.head.sha,
      branch: pr.head.ref,
      actor: payload.commenter,
      taskId: task.id,
      dryRun: command.dryRun,
      command: { pr: payload.pr, commentId: payload.commentId },
    }
    await deps.enqueue({
      kind: 'deploy',
      key: deployJobKey(job, String(payload.commentId)),
      payload: job,
    })
    return {
      status: 'done',
      summary: `${command.dryRun ? 'dry run' : 'deploy'} of ${pr.head.sha.slice(0, 7)} to ${environment.name} queued`,
    }
  }
  // 7. /rollback: only what was merged (and so deployed from the default branch) rolls back.
  if (command.name === 'rollback' && environment?.ok === true) {
    if (pr.merged !== true) {
      return refuse(
        github,
        deps,
        payload,
        { reason: 'not-merged', summary: 'PR is not merged' },
        'DevSys did not run `/rollback`',
        'Only a merged pull request can be rolled back: this one has not been merged, so its code is not live from the default branch.',
      )
    }
    await react(github, payload, 'eyes')
    const job: RollbackPayload = {
      installationId: payload.installationId,
      repo: repoOf(payload),
      taskId: task.id,
      environment: environment.name,
      actor: payload.commenter,
      trigger: 'command',
      command: { pr: payload.pr, commentId: payload.commentId },
    }
    await deps.enqueue({
      kind: 'rollback',
      key: rollbackJobKey(payload.fullName, task.id),
      payload: job,
    })
    return { status: 'done', summary: `rollback of ${task.id} in ${environment.name} queued` }
  }
  // 8. /test: the PR's current head, tested in the task's own serialized job.
  if (command.name === 'test') {
    await react(github, payload, 'eyes')
    await startTests(github, deps.enqueue, {
      installationId: payload.installationId,
      taskId: task.id,
      repo: repoOf(payload),
      headSha: pr.head.sha,
      reason: 'command',
    })
    return { status: 'done', summary: `tests of ${task.id} at ${pr.head.sha.slice(0, 7)} queued` }
  }
  return { status: 'skipped', reason: 'unhandled', summary: `/${command.name} has no handler` }
}

/** The environment a /deploy or /rollback goes to: named, else the task manifest's, else production. */
function environmentOf(
  deps: PrCommandDeps,
  config: RepoConfig,
  task: Task | undefined,
  requested: string | null,
): ResolvedEnvironment {
  const parsed = task === undefined ? undefined : parseTaskManifest(task, deps.maxManifestBytes)
  return resolveEnvironment(config, parsed?.ok === true ? parsed.manifest : null, requested)
}

/** Answers a command DevSys will not carry out: 😕 on the comment, the reason in the answer. */
async function refuse(
  github: GitHubClient,
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  outcome: { reason: string; summary: string },
  title: string,
  message: string,
): Promise<Outcome> {
  await react(github, payload, 'confused')
  await answer(github, deps, payload, formatStopComment(title, message))
  return { status: 'rejected', ...outcome }
}

function repoOf(payload: PrCommandPayload) {
  return {
    owner: payload.owner,
    name: payload.repo,
    fullName: payload.fullName,
    cloneUrl: payload.cloneUrl,
    htmlUrl: payload.htmlUrl,
    defaultBranch: payload.defaultBranch,
  }
}

function answer(
  github: GitHubClient,
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  body: string,
) {
  return upsertStickyComment(github, deps.store, {
    owner: payload.owner,
    repo: payload.repo,
    issue: payload.pr,
    kind: COMMAND_COMMENT,
    body,
  })
}

function react(github: GitHubClient, payload: PrCommandPayload, content: 'eyes' | 'confused') {
  return reactToComment(github, {
    owner: payload.owner,
    repo: payload.repo,
    commentId: payload.commentId,
    content,
  })
}
