import type { Logger } from 'pino'
import type { GitHubClient } from '../../app-deps.js'
import { getBranchHead } from '../../github/get-branch-head.js'
import type { Outcome } from '../../queue/types.js'
import type { ResolvedDeploy } from './types.js'

/**
 * A push deploys only while its commit is still the branch's head: an old push delivered
 * again (or late) after newer ones must not roll the site back to it. Returns the stop, or
 * null to go on (always for commands and API requests, which name their commit).
 */
export async function checkBranchHead(
  github: GitHubClient,
  p: Pick<ResolvedDeploy, 'repo' | 'trigger' | 'sha' | 'branch'>,
  log: Logger,
): Promise<Outcome | null> {
  if (p.trigger !== 'merge') return null
  const head = await getBranchHead(github, {
    owner: p.repo.owner,
    repo: p.repo.name,
    branch: p.branch,
  })
  if (head === p.sha) return null
  log.info({ sha: p.sha, head, branch: p.branch }, 'push is no longer the branch head')
  return {
    status: 'skipped',
    reason: 'not-branch-head',
    summary: `${p.sha.slice(0, 7)} is no longer the head of ${p.branch} (${head === null ? 'the branch is gone' : `it is ${head.slice(0, 7)}`}); nothing deployed`,
  }
}
