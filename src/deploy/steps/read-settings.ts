import type { GitHubClient } from '../../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../../config/fetch-repo-config.js'
import type { EnvironmentConfig } from '../../config/load-repo-config.js'
import { parseTaskManifest } from '../../intake/task-manifest.js'
import type { AcceptanceCheck } from '../../manifest/types.js'
import type { Outcome } from '../../queue/types.js'
import { answerDeploy } from '../../report/answer-deploy.js'
import { formatProblems, formatStopComment } from '../../report/format-intake.js'
import type { CommentStore, DeploymentStore, Task, TaskStore } from '../../store/store.js'
import { resolveEnvironment } from '../environments.js'
import type { ResolvedDeploy } from './types.js'

/** What a deploy goes by, or the stop (already answered on the PR) when it cannot go on. */
export type DeploySettings =
  | {
      ok: true
      task: Task | undefined
      environment: { name: string; config: EnvironmentConfig }
      /** null: the checks of the task whose record is in the deployed tree. */
      checks: AcceptanceCheck[] | null
    }
  | { ok: false; outcome: Outcome }

/**
 * The settings of a deploy: the repo config (from the default branch), the task being
 * deployed and the environment it goes to. A push that is no task's merge deploys only where
 * DevSys deployed before, and is verified against the task whose record is in its tree.
 */
export async function readSettings(
  github: GitHubClient,
  deps: { store: TaskStore & DeploymentStore & CommentStore; maxManifestBytes: number },
  p: ResolvedDeploy,
): Promise<DeploySettings> {
  const loaded = await fetchRepoConfig(github, { owner: p.repo.owner, repo: p.repo.name })
  if (!loaded.ok) {
    await answerDeploy(
      github,
      deps,
      p,
      null,
      formatStopComment(
        `DevSys cannot read ${REPO_CONFIG_PATH}`,
        formatProblems(REPO_CONFIG_PATH, loaded.problems),
      ),
      'confused',
    )
    const summary = 'repo config is invalid'
    return { ok: false, outcome: { status: 'rejected', reason: 'invalid-repo-config', summary } }
  }
  const task = await findTask(github, deps.store, p)
  if (p.trigger === 'merge' && task === undefined) {
    // A repository DevSys never deployed is not DevSys's to deploy on every push.
    const earlier = await deps.store.listDeployments({ repo: p.repo.fullName, limit: 1 })
    if (earlier.length === 0) {
      const summary = `${p.sha.slice(0, 7)} is not a DevSys task's merge and nothing was deployed from ${p.repo.fullName} before`
      return { ok: false, outcome: { status: 'skipped', reason: 'not-deployed-here', summary } }
    }
  }
  const parsed = task === undefined ? undefined : parseTaskManifest(task, deps.maxManifestBytes)
  const manifest = parsed?.ok === true ? parsed.manifest : null
  const env = resolveEnvironment(loaded.config, manifest, p.environment)
  if (!env.ok) {
    await answerDeploy(
      github,
      deps,
      p,
      task,
      formatStopComment(`DevSys cannot deploy to \`${env.name}\``, env.message),
      'confused',
    )
    const outcome: Outcome = {
      status: 'rejected',
      reason: 'unknown-environment',
      summary: env.message,
    }
    return { ok: false, outcome }
  }
  const environment = { name: env.name, config: env.config }
  return { ok: true, task, environment, checks: manifest?.acceptance ?? null }
}

/** The task of the deployed commit: given, or the one whose pull request was merged as `sha`. */
async function findTask(
  github: GitHubClient,
  store: TaskStore,
  p: ResolvedDeploy,
): Promise<Task | undefined> {
  if (p.taskId !== null) return store.getTask({ repo: p.repo.fullName, id: p.taskId })
  const { data } = await github.rest.repos.listPullRequestsAssociatedWithCommit({
    owner: p.repo.owner,
    repo: p.repo.name,
    commit_sha: p.sha,
  })
  for (const pr of data) {
    if (pr.merged_at === null) continue
    const task = await store.findTaskByPullRequest(p.repo.fullName, pr.number)
    if (task !== undefined) return task
  }
  return undefined
}
