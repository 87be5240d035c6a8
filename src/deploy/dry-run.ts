import type { GitHubClient } from '../app-deps.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { installationToken } from '../github/installation-token.js'
import type { Outcome } from '../queue/types.js'
import { formatDeployFailed, formatDryRun } from '../report/format-deploy.js'
import { withRelease } from './checkout-release.js'
import { isExpectedFailure } from './is-expected-failure.js'
import type { Answer, ResolvedDeploy } from './steps/types.js'
import type { DeployTarget } from './types.js'

/**
 * `/deploy --dry-run`: says which files the commit's release would add, change and remove
 * against what is live. Takes no lock and changes nothing on the target.
 */
export async function dryRun(
  github: GitHubClient,
  git: GitWorkspaces,
  p: ResolvedDeploy,
  run: { target: DeployTarget; environment: string; answer: Answer; signal: AbortSignal },
): Promise<Outcome> {
  const { target, environment, signal } = run
  try {
    const token = await installationToken(github, p.installationId)
    const { live, releaseId, diff } = await withRelease(
      git,
      { repo: p.repo, branch: p.branch, sha: p.sha, auth: { token }, signal },
      async (release) => ({
        live: (await target.state(signal)).current,
        releaseId: release.id,
        diff: await target.diff(release, signal),
      }),
    )
    await run.answer(formatDryRun({ environment, sha: p.sha, releaseId, live, diff }), null)
    const total = diff.added.length + diff.changed.length + diff.removed.length
    return {
      status: 'done',
      summary: `dry run of ${p.sha.slice(0, 7)} to ${environment}: ${total} file(s) differ`,
    }
  } catch (error) {
    if (!isExpectedFailure(error)) throw error
    await run.answer(formatDeployFailed(environment, p.sha, (error as Error).message), 'confused')
    return { status: 'rejected', reason: 'dry-run-failed', summary: (error as Error).message }
  }
}
