import type { GitHubAuth } from '../app-deps.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { GitError } from '../git/git-error.js'
import { pushBranch } from '../git/push-branch.js'
import { revertCommit } from '../git/revert-commit.js'
import { commitIdentity, getBotIdentity } from '../github/bot-identity.js'
import { installationToken } from '../github/installation-token.js'
import type { JobHandler } from '../queue/types.js'
import { answerDeploy } from '../report/answer-deploy.js'
import { REVERT_COMMENT } from '../report/comment-kinds.js'
import { formatReverted } from '../report/format-deploy.js'
import { upsertPullRequest } from '../report/pull-request.js'
import type { AuditStore, CommentStore, DeploymentStore, TaskStore } from '../store/store.js'
import type { RevertPayload } from '../triggers/job-payloads.js'

export interface RevertDeps {
  store: DeploymentStore & AuditStore & TaskStore & CommentStore
  auth: GitHubAuth
  git: GitWorkspaces
}

/**
 * The `revert` job: puts a revert of the bad commit on the default branch so that the branch
 * describes what is live. Pushed directly when GitHub accepts it; when the branch is protected
 * (or moved meanwhile) it goes on a branch of its own and becomes a pull request.
 */
export function createRevertJob(deps: RevertDeps): JobHandler<RevertPayload> {
  return {
    kind: 'revert',
    async run(p, ctx) {
      const github = await deps.auth(p.installationId)
      const { repo } = p
      const token = await installationToken(github, p.installationId)
      const webHost = new URL(repo.htmlUrl).host
      const bot = await getBotIdentity({ app: () => deps.auth(), installation: github }, webHost)
      const identity = commitIdentity(bot, { login: p.actor }, webHost)
      const reason = `DevSys rolled back ${p.environment}: ${p.reason}`
      const done = await deps.git.withWorkspace(
        repo,
        repo.defaultBranch,
        { token },
        async (ws) => {
          const result = await revertCommit(ws, { sha: p.sha, identity, reason })
          if (result.kind === 'not-on-branch') return result
          if (result.kind === 'already-reverted') return result
          try {
            await pushBranch(ws, { token })
            return { kind: 'pushed' as const, sha: result.sha, branch: repo.defaultBranch }
          } catch (error) {
            if (
              !(error instanceof GitError) ||
              !['push-rejected', 'push-failed'].includes(error.code)
            )
              throw error
            ctx.log.info(
              { err: error },
              'the default branch refused the revert; opening a pull request',
            )
          }
          // Protected (or moved on): the same commit on a branch of its own, as a pull request.
          const branch = `devsys/revert-${p.sha.slice(0, 12)}`
          await ws.git.raw(['checkout', '-B', branch])
          await pushBranch({ ...ws, branch, branchExisted: false }, { token })
          const pr = await upsertPullRequest(github, {
            owner: repo.owner,
            repo: repo.name,
            head: branch,
            base: repo.defaultBranch,
            title: `Revert "${result.subject}"`,
            body:
              p.switchedBack === false
                ? `${reason}\n\n\`${p.environment}\` still serves ${p.sha.slice(0, 7)}: there was no earlier release to switch back to (or later deploys are live). Merge this to take it out; the revert deploys like any merge.`
                : `${reason}\n\nDevSys switched \`${p.environment}\` back to the previous release already. Merge this so that \`${repo.defaultBranch}\` describes what is live again; its deploy finds that release on the target and only switches.`,
            draft: false,
            knownNumber: null,
          })
          return { kind: 'pull-request' as const, number: pr.number, url: pr.url, branch }
        },
        ctx.signal,
      )
      if (done.kind === 'not-on-branch') {
        return {
          status: 'skipped',
          reason: 'not-on-default-branch',
          summary: `${p.sha.slice(0, 7)} is not on ${repo.defaultBranch}`,
        }
      }
      await deps.store.updateDeployment(p.deployment, { revert: done })
      await deps.store.audit({
        actor: 'devsys',
        action: 'deploy.reverted',
        subject: `deployment:${p.deployment}`,
        details: { ...done },
      })
      const told = formatReverted(done, p.sha, repo.defaultBranch)
      await tell(deps, github, p, told)
      return { status: 'done', summary: told }
    },
    async onFailed(p, error) {
      const github = await deps.auth(p.installationId)
      await deps.store.updateDeployment(p.deployment, {
        revert: { kind: 'failed', message: error },
      })
      const failed = { kind: 'failed' as const, message: error }
      await tell(deps, github, p, formatReverted(failed, p.sha, p.repo.defaultBranch))
    },
  }
}

/** Reports the revert on the PR of the deployment's task, when it has one. */
async function tell(
  deps: RevertDeps,
  github: Awaited<ReturnType<GitHubAuth>>,
  p: RevertPayload,
  body: string,
) {
  const deployment = await deps.store.getDeployment(p.deployment)
  const task =
    deployment?.taskId == null
      ? undefined
      : await deps.store.getTask({ repo: deployment.repo, id: deployment.taskId })
  await answerDeploy(github, deps, p, task, `### Revert\n\n${body}`, null, REVERT_COMMENT)
}
