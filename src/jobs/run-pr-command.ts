import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { type StoredPayload, withRepoRef } from '../github/repo-ref.js'
import { startTests } from '../intake/start-tests.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { COMMAND_COMMENT } from '../report/comment-kinds.js'
import { formatHelp } from '../report/format-help.js'
import { type Reply, replyOn } from '../report/reply.js'
import type { AuditStore, CommentStore, Task, TaskStore } from '../store/store.js'
import {
  type DeployPayload,
  deployJobKey,
  type GeneratePayload,
  generateJobKey,
  type RollbackPayload,
  rollbackJobKey,
} from '../triggers/job-payloads.js'
import type { PrCommandPayload } from '../triggers/pr-command.js'
import { auditCommand } from './steps/audit-command.js'
import {
  AVAILABLE_COMMANDS,
  authorize,
  type Environment,
  notMerged,
  type PullRequest,
  type Refusal,
  readHead,
} from './steps/check-command.js'

export interface PrCommandDeps {
  store: TaskStore & CommentStore & AuditStore
  auth: GitHubAuth
  enqueue: Enqueue
  maxManifestBytes: number
}

/** The `pr-command` job: checks who asked, reacts, and starts the work or explains why not. */
export function createPrCommandJob(
  deps: PrCommandDeps,
): JobHandler<StoredPayload<PrCommandPayload>> {
  return {
    kind: 'pr-command',
    async run(stored, ctx) {
      const payload = withRepoRef(stored)
      // GitHub's comment id, not the delivery id, names a command: a replayed (re-signed)
      // delivery of the same comment is a new job and must neither run nor react.
      if (!(await deps.store.claimComment(payload.repo.fullName, payload.commentId, ctx.job.id))) {
        return {
          status: 'skipped',
          reason: 'comment-already-handled',
          summary: `comment ${payload.commentId} was already handled by another job`,
        }
      }
      const github = await deps.auth(payload.installationId)
      return runCommand(github, deps, payload, replyTo(github, deps, payload))
    },
    async onFailed(stored, error) {
      const payload = withRepoRef(stored)
      const github = await deps.auth(payload.installationId)
      await replyTo(github, deps, payload).stop('DevSys could not run the command', error)
    },
  }
}

/** The job's answers: its command comment on the PR, reactions on the command. */
function replyTo(github: GitHubClient, deps: PrCommandDeps, payload: PrCommandPayload): Reply {
  return replyOn(github, deps.store, {
    owner: payload.repo.owner,
    repo: payload.repo.name,
    issue: payload.pr,
    kind: COMMAND_COMMENT,
    asker: { commentId: payload.commentId },
  })
}

async function runCommand(
  github: GitHubClient,
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  reply: Reply,
): Promise<Outcome> {
  const { parsed } = payload
  // 1. Say what is wrong with a malformed command; /help needs nothing more.
  if (parsed.kind === 'invalid') {
    return rejected(reply, {
      kind: 'refused',
      reason: 'invalid-command',
      summary: parsed.message,
      title: `DevSys did not understand \`/${parsed.name}\``,
      message: parsed.message,
    })
  }
  const { command } = parsed
  if (command.name === 'help') {
    await reply.say(formatHelp(AVAILABLE_COMMANDS))
    return { status: 'done', summary: 'help shown' }
  }
  // 2. Only people with the configured role may change code, test or deploy, and only on a
  //    DevSys task's PR. Every answer from here on is audited, refusals included.
  const action = command.name
  const allowed = await authorize(github, deps, payload, command)
  if (allowed.kind === 'refused') {
    await auditRefusal(deps, payload, action, null, null, allowed)
    return rejected(reply, allowed)
  }
  const { task, environment } = allowed
  const env = environment?.name ?? null
  // 3. /revise: acknowledge now, regenerate in the task's own serialized job.
  if (command.name === 'revise') {
    await reply.react('eyes')
    const outcome = await queueRevision(deps, payload, task, command.feedback)
    await auditCommand(deps.store, payload, { action, task: task.id, result: 'accepted' })
    return outcome
  }
  // 4. Tests and deploys run code from the PR's branch: never from a fork.
  const head = await readHead(github, payload, command, environment)
  if (head.kind === 'refused') {
    await auditRefusal(deps, payload, action, task.id, env, head)
    return rejected(reply, head)
  }
  // 5. Start the work in its own job, which takes the locks it needs.
  if (command.name === 'rollback' && head.pr.merged !== true) {
    // Only what was merged (and so deployed from the default branch) rolls back.
    const refusal = notMerged()
    await auditRefusal(deps, payload, action, task.id, env, refusal)
    return rejected(reply, refusal)
  }
  await reply.react('eyes')
  const outcome = await startCommand(github, deps, payload, task, head, command)
  await auditCommand(deps.store, payload, {
    action,
    task: task.id,
    environment: head.environment?.name ?? env,
    result: 'accepted',
    details: {
      commit: head.pr.head.sha,
      ...(command.name === 'deploy' ? { dryRun: command.dryRun } : {}),
    },
  })
  return outcome
}

type StartedCommand = Extract<
  Extract<PrCommandPayload['parsed'], { kind: 'command' }>['command'],
  { name: 'deploy' | 'rollback' | 'test' }
>

/** Queues the job a /deploy, /rollback or /test starts. */
async function startCommand(
  github: GitHubClient,
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  task: Task,
  head: { pr: PullRequest; environment: Environment | undefined },
  command: StartedCommand,
): Promise<Outcome> {
  switch (command.name) {
    case 'deploy':
      return queueDeploy(deps, payload, task, head, command.dryRun)
    case 'rollback':
      return queueRollback(deps, payload, task, head.environment)
    case 'test':
      return queueTests(github, deps, payload, task, head.pr)
  }
}

/** The audit record of a command DevSys refused, with its reason code. */
function auditRefusal(
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  action: string,
  task: string | null,
  environment: string | null,
  refusal: Refusal,
): Promise<void> {
  return auditCommand(deps.store, payload, {
    action,
    task,
    environment,
    result: 'refused',
    details: { reason: refusal.reason },
  })
}

/** Answers a command DevSys will not carry out: the reason in the answer, 😕 on the comment. */
async function rejected(reply: Reply, refusal: Refusal): Promise<Outcome> {
  await reply.stop(refusal.title, refusal.message)
  return { status: 'rejected', reason: refusal.reason, summary: refusal.summary }
}

async function queueRevision(
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  task: Task,
  feedback: string,
): Promise<Outcome> {
  const job: GeneratePayload = {
    installationId: payload.installationId,
    taskId: task.id,
    repo: payload.repo,
    reason: 'revise',
    feedback,
    requester: payload.commenter,
    requesterId: payload.commenterId,
    commentId: payload.commentId,
  }
  await deps.enqueue({ kind: 'generate', key: generateJobKey(task), payload: job })
  return { status: 'done', summary: `revision of ${task.id} queued` }
}

/** /deploy: the PR's head commit to the environment, in a deploy job (which takes its lock). */
async function queueDeploy(
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  task: Task,
  head: { pr: PullRequest; environment: Environment | undefined },
  dryRun: boolean,
): Promise<Outcome> {
  const { pr, environment } = head
  if (environment === undefined) return unhandled('deploy')
  const job: DeployPayload = {
    installationId: payload.installationId,
    repo: payload.repo,
    trigger: 'command',
    environment: environment.name,
    sha: pr.head.sha,
    branch: pr.head.ref,
    actor: payload.commenter,
    taskId: task.id,
    dryRun,
    command: { pr: payload.pr, commentId: payload.commentId },
  }
  const key = deployJobKey(job, String(payload.commentId))
  await deps.enqueue({ kind: 'deploy', key, payload: job })
  return {
    status: 'done',
    summary: `${dryRun ? 'dry run' : 'deploy'} of ${pr.head.sha.slice(0, 7)} to ${environment.name} queued`,
  }
}

/** /rollback: the task's deploy taken out of the environment, in a rollback job. */
async function queueRollback(
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  task: Task,
  environment: Environment | undefined,
): Promise<Outcome> {
  if (environment === undefined) return unhandled('rollback')
  const job: RollbackPayload = {
    installationId: payload.installationId,
    repo: payload.repo,
    taskId: task.id,
    environment: environment.name,
    actor: payload.commenter,
    trigger: 'command',
    command: { pr: payload.pr, commentId: payload.commentId },
  }
  const key = rollbackJobKey(payload.repo.fullName, task.id)
  await deps.enqueue({ kind: 'rollback', key, payload: job })
  return { status: 'done', summary: `rollback of ${task.id} in ${environment.name} queued` }
}

/** /test: the PR's current head, tested in the task's own serialized job. */
async function queueTests(
  github: GitHubClient,
  deps: PrCommandDeps,
  payload: PrCommandPayload,
  task: Task,
  pr: PullRequest,
): Promise<Outcome> {
  await startTests(github, deps.enqueue, {
    installationId: payload.installationId,
    taskId: task.id,
    repo: payload.repo,
    headSha: pr.head.sha,
    reason: 'command',
  })
  return { status: 'done', summary: `tests of ${task.id} at ${pr.head.sha.slice(0, 7)} queued` }
}

function unhandled(name: string): Outcome {
  return { status: 'skipped', reason: 'unhandled', summary: `/${name} has no handler` }
}
