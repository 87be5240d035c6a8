import type { GitHubClient } from '../../app-deps.js'
import { fetchRepoConfig } from '../../config/fetch-repo-config.js'
import type { Permission, RepoConfig } from '../../config/load-repo-config.js'
import { type ResolvedEnvironment, resolveEnvironment } from '../../deploy/environments.js'
import { getRole, hasRole } from '../../github/check-permission.js'
import { parseTaskManifest } from '../../intake/task-manifest.js'
import type { Task, TaskStore } from '../../store/store.js'
import type { Command } from '../../triggers/parse-command.js'
import type { PrCommandPayload } from '../../triggers/pr-command.js'

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

/** A refusal, with its outcome's reason and summary and the answer's title and message. */
function refusal(reason: string, summary: string, title: string, message: string): Refusal {
  return { kind: 'refused', reason, summary, title, message }
}

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
  const { repo } = payload
  const loaded = await fetchRepoConfig(github, { owner: repo.owner, repo: repo.name })
  if (!loaded.ok) {
    return refusal(
      'invalid-repo-config',
      'repo config is invalid',
      'DevSys cannot read its repo config',
      'Fix `.github/devsys.yml` on the default branch, then try again.',
    )
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
  const refused = await checkRole(github, payload, command, required)
  if (refused) return refused
  if (!AVAILABLE_COMMANDS.has(command.name)) {
    return refusal(
      'not-available',
      `/${command.name} not available`,
      `\`/${command.name}\` is not available yet`,
      'This DevSys version does not carry it out yet. Comment `/help` for the commands it has.',
    )
  }
  if (!task) {
    return refusal(
      'not-a-task',
      'PR has no task',
      'This pull request is not a DevSys task',
      'DevSys commands work on the pull requests DevSys opened for a task.',
    )
  }
  return { kind: 'allowed', task, environment }
}

/** Whether the commenter has the role the command needs; a refusal saying so when not. */
async function checkRole(
  github: GitHubClient,
  { repo, commenter }: PrCommandPayload,
  command: Command,
  required: Permission,
): Promise<Refusal | undefined> {
  const role = await getRole(github, { owner: repo.owner, repo: repo.name, user: commenter })
  if (hasRole(role, required)) return undefined
  return refusal(
    'permission',
    `${commenter} lacks ${required}`,
    `DevSys did not run \`/${command.name}\``,
    `@${commenter} has the '${role}' role on ${repo.fullName}; \`/${command.name}\` needs '${required}'.`,
  )
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
  if (pr.head.repo?.full_name !== repo.fullName) {
    return refusal(
      'fork',
      'PR head is in a fork',
      `DevSys does not run \`/${command.name}\` on forks`,
      `The branch of this pull request lives in ${pr.head.repo?.full_name ?? 'a deleted repository'}, not in ${repo.fullName}; DevSys only tests and deploys code pushed to ${repo.fullName} itself.`,
    )
  }
  if (environment !== undefined && !environment.ok) {
    const { message } = environment
    const title = `DevSys did not run \`/${command.name}\``
    return refusal('unknown-environment', message, title, message)
  }
  return { kind: 'head', pr, environment }
}

/** /rollback on a PR that was never merged, so whose code is not live. */
export function notMerged(): Refusal {
  return refusal(
    'not-merged',
    'PR is not merged',
    'DevSys did not run `/rollback`',
    'Only a merged pull request can be rolled back: this one has not been merged, so its code is not live from the default branch.',
  )
}
