import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Deployment, type Task, taskSubject } from '../store/store.js'
import {
  type DeployPayload,
  deployJobKey,
  type RollbackPayload,
  rollbackJobKey,
} from '../triggers/job-payloads.js'
import {
  type Caller,
  requireEnvironment,
  seesEnvironment,
  seesRepo,
  unrestricted,
} from './access.js'
import { type ApiContext, type ApiDeps, auditApi } from './api-context.js'
import {
  ApiError,
  parseJsonObject,
  readBody,
  readLimitParam,
  readRepoParam,
  sendJson,
} from './http.js'
import { resolveTask, taskPath } from './tasks.js'

const ENVIRONMENT = /^[a-z0-9][a-z0-9-]{0,62}$/
/** The most deployments a scoped listing reads before keeping those the token may see. */
const SCOPED_SCAN = 1000

/** Whether the caller may see this deployment: its repository and its environment. */
function seesDeployment(caller: Caller, d: Deployment): boolean {
  return seesRepo(caller, d.repo) && seesEnvironment(caller, d.environment)
}

/** The public JSON shape of a deployment: who, when, what, and how it ended. */
function deploymentJson(d: Deployment) {
  return {
    id: d.id,
    repo: d.repo,
    environment: d.environment,
    task: d.taskId,
    trigger: d.trigger,
    actor: d.actor,
    commit: d.commitSha,
    ref: d.ref,
    release: d.releaseId,
    state: d.state,
    bad: d.bad,
    verification: d.verification,
    rollbackOf: d.rollbackOf,
    revert: d.revert,
    url: d.url,
    error: d.error,
    createdAt: d.createdAt,
    finishedAt: d.finishedAt,
  }
}

/** `GET /api/deploys?env=&repo=&limit=`: the deploy history, newest first. */
export async function listDeploys({ res, url, deps, caller }: ApiContext) {
  const env = url.searchParams.get('env')
  if (env !== null && !ENVIRONMENT.test(env)) {
    throw new ApiError(400, 'invalid_env', 'env must be an environment name, e.g. production')
  }
  const repo = readRepoParam(url)
  const limit = readLimitParam(url) ?? 100
  const scoped = !unrestricted(caller)
  const deployments = await deps.store.listDeployments({
    ...(env === null ? {} : { environment: env }),
    ...(repo === null ? {} : { repo }),
    limit: scoped ? SCOPED_SCAN : limit,
  })
  const visible = deployments.filter((d) => seesDeployment(caller, d)).slice(0, limit)
  sendJson(res, 200, { deployments: visible.map(deploymentJson) })
}

/** `GET /api/tasks/:id/deploys`: every deployment of one task, newest first. */
export async function listTaskDeploys({ res, url, deps, caller }: ApiContext, id: string) {
  const task = await resolveTask(deps.store, id, url, caller)
  // A task without a repository was never deployed (deploys need one).
  if (task.repo === null) return sendJson(res, 200, { deployments: [] })
  const deployments = await deps.store.listDeployments({
    repo: task.repo,
    taskId: task.id,
    limit: readLimitParam(url) ?? 100,
  })
  const visible = deployments.filter((d) => seesDeployment(caller, d))
  sendJson(res, 200, { deployments: visible.map(deploymentJson) })
}

/**
 * `POST /api/tasks/:id/deploy` with `{ "environment"?, "dryRun"? }`: deploys the task's pushed
 * commit like `/deploy` on its PR. Answers 202 with the queued job; the result appears in
 * `GET /api/tasks/:id/deploys`.
 */
export async function deployTask(ctx: ApiContext, id: string) {
  const { req, url, deps, caller } = ctx
  const body = await readOptions(req, ['environment', 'dryRun'])
  const task = await resolveTask(deps.store, id, url, caller)
  const environment = readEnvironment(body.environment)
  requireEnvironment(caller, environment)
  const { repo, installationId } = deployable(task)
  const code = task.code
  if (code === null) {
    throw new ApiError(
      409,
      'not_generated',
      `task '${id}' has no pushed code yet; nothing to deploy`,
    )
  }
  if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean') {
    throw new ApiError(422, 'invalid_field', '"dryRun" must be true or false')
  }
  const payload: DeployPayload = {
    installationId,
    repo,
    trigger: 'api',
    environment,
    sha: code.headSha,
    branch: code.branch,
    actor: caller.actor,
    taskId: task.id,
    dryRun: body.dryRun === true,
  }
  const result = await deps.queue.enqueue({
    kind: 'deploy',
    key: deployJobKey(payload, `api-${Date.now()}`),
    payload,
  })
  await auditQueued(ctx, 'deploy', task, environment, result, {
    commit: code.headSha,
    dryRun: payload.dryRun,
  })
  accepted(ctx.res, task, result)
}

/** `POST /api/tasks/:id/rollback` with `{ "environment"? }`: like `/rollback` on the task's PR. */
export async function rollbackTask(ctx: ApiContext, id: string) {
  const { req, url, deps, caller } = ctx
  const body = await readOptions(req, ['environment'])
  const task = await resolveTask(deps.store, id, url, caller)
  const environment = readEnvironment(body.environment)
  requireEnvironment(caller, environment)
  const result = await queueRollback(deps, task, environment, caller.actor)
  await auditQueued(ctx, 'rollback', task, environment, result, {})
  accepted(ctx.res, task, result)
}

/**
 * Queues the rollback of `task` in `environment` (null: the manifest's) for `actor`: the one
 * path of the manager API and the dashboard, the same job `/rollback` starts. Throws 409 for a
 * task that did not come from a repository installation.
 */
export async function queueRollback(
  deps: Pick<ApiContext['deps'], 'queue'>,
  task: Task,
  environment: string | null,
  actor: string,
): Promise<EnqueueResult> {
  const { repo, installationId } = deployable(task)
  const payload: RollbackPayload = {
    installationId,
    repo,
    taskId: task.id,
    environment,
    actor,
    trigger: 'api',
  }
  return deps.queue.enqueue({
    kind: 'rollback',
    key: rollbackJobKey(repo.fullName, task.id),
    payload,
  })
}

/** The audit record of a deploy or rollback the API queued. */
async function auditQueued(
  ctx: ApiContext,
  action: string,
  task: Task,
  environment: string | null,
  result: EnqueueResult,
  details: Record<string, unknown>,
) {
  const job = result.kind === 'duplicate-delivery' ? null : result.job
  await auditApi(ctx, {
    action,
    subject: taskSubject(task),
    target: { repo: task.repo, task: task.id, environment },
    result: 'accepted',
    details: { ...details, job: job?.id ?? null },
  })
}

/** A task DevSys can act on in GitHub: it came from a repository where the app is installed. */
function deployable(task: Task) {
  const { repo, installationId } = task.source
  if (repo === null || installationId === undefined) {
    throw new ApiError(
      409,
      'not_in_a_repository',
      `task '${task.id}' was created through the API without a repository installation; only tasks from an issue or a push can be deployed`,
    )
  }
  const [owner = '', name = ''] = repo.split('/')
  return { repo: { owner, name, fullName: repo }, installationId }
}

async function readOptions(req: IncomingMessage, allowed: string[]) {
  const text = await readBody(req, 16 * 1024)
  const body = text.trim() === '' ? {} : parseJsonObject(text)
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key))
  if (unknown.length > 0) {
    throw new ApiError(
      422,
      'invalid_field',
      `unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed.join(', ')}`,
    )
  }
  return body
}

function readEnvironment(value: unknown): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string' || !ENVIRONMENT.test(value)) {
    throw new ApiError(
      422,
      'invalid_environment',
      '"environment" must be an environment name of lowercase letters, digits and hyphens, e.g. staging',
    )
  }
  return value
}

type EnqueueResult = Awaited<ReturnType<ApiDeps['queue']['enqueue']>>

function accepted(res: ServerResponse, task: Task, result: EnqueueResult) {
  if (result.kind === 'duplicate-delivery') throw new Error('an API request has no delivery id')
  sendJson(
    res,
    202,
    {
      job: { id: result.job.id, kind: result.job.kind, state: result.job.state },
      history: taskPath(task, '/deploys'),
    },
    { location: taskPath(task, '/deploys') },
  )
}
