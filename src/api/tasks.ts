import { acceptManifest } from '../intake/accept-manifest.js'
import {
  TASK_STATUSES,
  type Task,
  type TaskStatus,
  type TaskStore,
  taskSubject,
} from '../store/store.js'
import { type Caller, seesRepo } from './access.js'
import { type ApiContext, auditApi } from './api-context.js'
import { ApiError, parseJsonObject, readBody, readRepoParam, sendJson } from './http.js'

/** The public JSON shape of a task. */
export function taskJson(task: Task) {
  return {
    id: task.id,
    repo: task.repo,
    title: task.title,
    status: task.status,
    revision: task.revision,
    source: task.source,
    code: task.code,
    createdAt: task.createdAt,
    updatedAt: task.updatedAt,
    manifest: task.manifestText,
    spec: task.spec,
  }
}

/**
 * `POST /api/tasks`: validates a manifest (JSON or YAML body, or a Spec Kit spec.md as
 * text/markdown) and creates or updates its task.
 */
export async function createTask(ctx: ApiContext): Promise<void> {
  const { req, res, url, deps, caller } = ctx
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const format = /json$/.test(type)
    ? 'json'
    : /ya?ml$/.test(type)
      ? 'yaml'
      : type === 'text/markdown'
        ? 'speckit'
        : undefined
  if (format === undefined) {
    throw new ApiError(
      415,
      'unsupported_media_type',
      'send the manifest as application/json or application/yaml, or a Spec Kit spec.md as text/markdown',
    )
  }
  const repo = readRepoParam(url)
  if (!seesRepo(caller, repo)) {
    throw new ApiError(
      403,
      'forbidden_scope',
      repo === null
        ? `a task without a repository needs a token for all repositories; add ?repo=owner/name within ${JSON.stringify(caller.repos)}`
        : `this token may not write to ${repo}; it is limited to repositories ${JSON.stringify(caller.repos)}`,
      { needed: { repo } },
    )
  }
  const text = await readBody(req, deps.config.maxManifestBytes)
  const acceptance = await acceptManifest(deps.store, {
    text,
    origin:
      format === 'speckit'
        ? { label: 'request body', speckit: true }
        : { label: 'request body', format },
    source: { kind: 'api', repo, key: 'api', requester: caller.actor },
    maxBytes: deps.config.maxManifestBytes,
  })
  switch (acceptance.kind) {
    case 'invalid':
      throw new ApiError(422, 'invalid_manifest', describeProblems(acceptance.problems.length), {
        problems: acceptance.problems,
      })
    case 'conflict':
      throw new ApiError(409, 'task_id_taken', acceptance.problems[0]?.message ?? 'task id taken', {
        problems: acceptance.problems,
      })
    case 'saved':
      if (acceptance.result !== 'unchanged') {
        const { task } = acceptance
        await auditApi(ctx, {
          action: acceptance.result === 'created' ? 'task.create' : 'task.update',
          subject: taskSubject(task),
          target: { repo: task.repo, task: task.id },
          after: { revision: task.revision, status: task.status, title: task.title },
          result: 'ok',
        })
      }
      sendJson(
        res,
        acceptance.result === 'created' ? 201 : 200,
        {
          result: acceptance.result,
          task: taskJson(acceptance.task),
        },
        acceptance.result === 'created' ? { location: taskPath(acceptance.task) } : {},
      )
  }
}

function describeProblems(count: number): string {
  return `the manifest has ${count} problem${count === 1 ? '' : 's'}; nothing was created`
}

/** `GET /api/tasks`: lists tasks, newest first, filtered by `status` and `repo`. */
export async function listTasks({ res, url, deps, caller }: ApiContext) {
  const status = url.searchParams.get('status')
  if (status !== null && !isStatus(status)) throw invalidStatus(status)
  const repo = url.searchParams.get('repo')
  const tasks = await deps.store.listTasks({
    ...(status === null ? {} : { status }),
    ...(repo === null ? {} : { repo }),
  })
  // A scoped token sees only its repositories' tasks: the others are not there for it.
  const visible = tasks.filter((task) => seesRepo(caller, task.repo))
  sendJson(res, 200, { tasks: visible.map(taskJson) })
}

/** The API path of a task: ids are unique per repository, so the path names it. */
export function taskPath(task: Pick<Task, 'id' | 'repo'>, suffix = ''): string {
  // REPO_NAME (src/api/http.ts) keeps repository names URL-safe, so the slash stays readable.
  const query = task.repo === null ? '' : `?repo=${task.repo}`
  return `/api/tasks/${encodeURIComponent(task.id)}${suffix}${query}`
}

/**
 * The task `/api/tasks/:id` addresses. Task ids are unique per repository: `?repo=owner/name`
 * picks the repository's task; without it the id must name exactly one task (an API task
 * created without a repository, or the only repository using that id), else the answer is 409
 * listing the repositories to choose from. A task outside the caller's repositories is
 * answered as absent (404), never as forbidden: a scoped token learns nothing of it.
 */
export async function resolveTask(
  store: Pick<TaskStore, 'getTask' | 'listTasks'>,
  id: string,
  url: URL,
  caller: Caller,
): Promise<Task> {
  const repo = readRepoParam(url)
  if (repo !== null) {
    const task = seesRepo(caller, repo) ? await store.getTask({ repo, id }) : undefined
    if (!task) throw new ApiError(404, 'task_not_found', `no task with id '${id}' in ${repo}`)
    return task
  }
  const tasks = (await store.listTasks({ id })).filter((task) => seesRepo(caller, task.repo))
  const [only, ...others] = tasks
  if (only === undefined) throw notFound(id)
  if (others.length > 0) {
    const repos = tasks.map((t) => t.repo ?? '(no repository)').join(', ')
    throw new ApiError(
      409,
      'ambiguous_task',
      `task id '${id}' is used in several repositories (${repos}); add ?repo=owner/name to say which`,
    )
  }
  return only
}

/**
 * `GET /api/tasks/:id[?repo=owner/name]`: the task, with its latest generations (self-fix loops),
 * each with its iterations: commit, files, tests, the agent's activity and token usage.
 */
export async function getTask({ res, url, deps, caller }: ApiContext, id: string) {
  const task = await resolveTask(deps.store, id, url, caller)
  const generations = await deps.store.listGenerations(task, GENERATIONS_SHOWN)
  sendJson(res, 200, { task: { ...taskJson(task), generations } })
}

/** Generations returned with a task, newest first. */
const GENERATIONS_SHOWN = 10

/** `PATCH /api/tasks/:id` with `{ "status": ... }`. */
export async function patchTask(ctx: ApiContext, id: string): Promise<void> {
  const { req, res, url, deps, caller } = ctx
  const found = await resolveTask(deps.store, id, url, caller)
  const body = parseJsonObject(await readBody(req, 64 * 1024))
  const unknown = Object.keys(body).filter((key) => key !== 'status')
  if (unknown.length > 0) {
    throw new ApiError(
      422,
      'invalid_field',
      `only "status" can be changed, not ${unknown.map((k) => `"${k}"`).join(', ')}`,
    )
  }
  const { status } = body
  if (typeof status !== 'string' || !isStatus(status)) throw invalidStatus(String(status))
  const task = await deps.store.setTaskStatus(found, status, caller.actor)
  if (!task) throw notFound(id)
  if (found.status !== task.status) {
    await auditApi(ctx, {
      action: 'task.status',
      subject: taskSubject(task),
      target: { repo: task.repo, task: task.id },
      before: { status: found.status },
      after: { status: task.status },
      result: 'ok',
    })
  }
  sendJson(res, 200, { task: taskJson(task) })
}

function isStatus(value: string): value is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(value)
}

function invalidStatus(value: string): ApiError {
  return new ApiError(
    422,
    'invalid_status',
    `status '${value}' is not one of: ${TASK_STATUSES.join(', ')}`,
  )
}

function notFound(id: string): ApiError {
  return new ApiError(404, 'task_not_found', `no task with id '${id}'`)
}

/** `GET /api/tasks/:id/tests/latest`: the newest test run with its parsed JUnit report. */
export async function getLatestTests({ res, url, deps, caller }: ApiContext, id: string) {
  const task = await resolveTask(deps.store, id, url, caller)
  const run = await deps.store.latestTestRun(task)
  if (!run) throw new ApiError(404, 'no_test_run', `task '${id}' has not been tested yet`)
  sendJson(res, 200, { testRun: run })
}
