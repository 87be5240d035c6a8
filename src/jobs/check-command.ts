import type { GitHubClient } from '../app-deps.js'
import { fetchRepoConfig } from '../config/fetch-repo-config.js'
import type { RepoConfig } from '../config/load-repo-config.js'
import { type ResolvedEnvironment, resolveEnvironment } from '../deploy/environments.js'
import { getRole, hasRole } from '../github/check-permission.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { Task, TaskStore } from '../store/store.js'
import type { Command } from '../triggers/parse-command.js'
import type { PrCommandPayload } from '../triggers/pr-command.js'

/*
 * The checks a PR command passes before the `pr-command` job (run-pr-command.ts) starts its
 * work: each returns what it found, or a Refusal the job answers with.
 */

/** Commands this DevSys version carries out; the others are listed by /help as coming. */
export const AVAILABLE_COMMANDS: ReadonlySet<string> = new Set([
  'deploy',
  'rollback',
  'revise',
  'test',
  'help',
])

/** A command DevSys will not carry out: the outcome's reason, and what the answer says. */
export interface Refusal {
  kind: 'refused'
  reason: string
  summary: string
  title: string
  message: string
}

export type PullRequest = Awaited<ReturnType<GitHubClient['rest']['pulls']['get']>>['data']
export type Environment = Extract<ResolvedEnvironment, { ok: true }>

/**
 * Whether the commenter may run the command here: the repo config's role for it (for a deploy,
 * its environment's), a command this version has, on a DevSys task's PR.
 */
export async function authorize(
  github: GitHubClient,
  deps: { store: Pick<TaskStore, 'findTaskByPullRequest'>; maxManifestBytes: number },
  payload: PrCommandPayload,
  command: Command,
): Promise<
  Refusal | { kind: 'allowed'; task: Task; environment: ResolvedEnvironment | undefined }
> {
  const { repo, commenter } = payload
  const loaded = await fetchRepoConfig(github, { owner: repo.owner, repo: repo.name })
  if (!loaded.ok) {
    return {
      kind: 'refused',
      reason: 'invalid-repo-config',
      summary: 'repo config is invalid',
      title: 'DevSys cannot read its repo config',
      message: 'Fix `.github/devsys.yml` on the default branch, then try again.',
    }
  }
  // The PR's task (checked last), read now: a deploy needs the permission of the environment it
  // goes to (deployPermission), which may come from the task's manifest.
  const task = await deps.store.findTaskByPullRequest(repo.fullName, payload.pr)
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
  const role = await getRole(github, { owner: repo.owner, repo: repo.name, user: commenter })
  const title = `DevSys did not run \`/${command.name}\``
  if (!hasRole(role, required)) {
    const message = `@${commenter} has the '${role}' role on ${repo.fullName}; \`/${command.name}\` needs '${required}'.`
    return {
      kind: 'refused',
      reason: 'permission',
      summary: `${commenter} lacks ${required}`,
      title,
      message,
    }
  }
  if (!AVAILABLE_COMMANDS.has(command.name)) {
    return {
      kind: 'refused',
      reason: 'not-available',
      summary: `/${command.name} not available`,
      title: `\`/${command.name}\` is not available yet`,
      message:
        'This DevSys version does not carry it out yet. Comment `/help` for the commands it has.',
    }
  }
  if (!task) {
    return {
      kind: 'refused',
      reason: 'not-a-task',
      summary: 'PR has no task',
      title: 'This pull request is not a DevSys task',
      message: 'DevSys commands work on the pull requests DevSys opened for a task.',
    }
  }
  return { kind: 'allowed', task, environment }
}

/** The environment a /deploy or /rollback goes to: named, else the task manifest's, else production. */
function environmentOf(
  deps: { maxManifestBytes: number },
  config: RepoConfig,
  task: Task | undefined,
  requested: string | null,
): ResolvedEnvironment {
  const parsed = task === undefined ? undefined : parseTaskManifest(task, deps.maxManifestBytes)
  return resolveEnvironment(config, parsed?.ok === true ? parsed.manifest : null, requested)
}

/** The PR as it is now, when its branch is in this repository (and the environment exists). */
export async function readHead(
  github: GitHubClient,
  payload: PrCommandPayload,
  command: Command,
  environment: ResolvedEnvironment | undefined,
): Promise<Refusal | { kind: 'head'; pr: PullRequest; environment: Environment | undefined }> {
  const { repo } = payload
  const { data: pr } = await github.rest.pulls.get({
    owner: repo.owner,
    repo: repo.name,
    pull_number: payload.pr,
  })
  const title = `DevSys did not run \`/${command.name}\``
  if (pr.head.repo?.full_name !== repo.fullName) {
    return {
      kind: 'refused',
      reason: 'fork',
      summary: 'PR head is in a fork',
      title: `DevSys does not run \`/${command.name}\` on forks`,
      message: `The branch of this pull request lives in ${pr.head.repo?.full_name ?? 'a deleted repository'}, not in ${repo.fullName}; DevSys only tests and deploys code pushed to ${repo.fullName} itself.`,
    }
  }
  if (environment !== undefined && !environment.ok) {
    const { message } = environment
    return { kind: 'refused', reason: 'unknown-environment', summary: message, title, message }
  }
  return { kind: 'head', pr, environment }
}

/** /rollback on a PR that was never merged, so whose code is not live. */
export function notMerged(): Refusal {
  return {
    kind: 'refused',
    reason: 'not-merged',
    summary: 'PR is not merged',
    title: 'DevSys did not run `/rollback`',
    message:
      'Only a merged pull request can be rolled back: this one has not been merged, so its code is not live from the default branch.',
  }
}
