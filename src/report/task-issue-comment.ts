import type { GitHubClient } from '../app-deps.js'
import type { CommentStore, Task } from '../store/store.js'
import { INTAKE_COMMENT } from './comment-kinds.js'
import { upsertStickyComment } from './sticky-comment.js'

/** What the task's issue says about its pull request: where the code is, and whether it is a draft. */
export function formatTaskIssueComment(input: {
  taskId: string
  branch: string
  pr: { number: number; url: string }
  draft: boolean
  /** Why the self-fix loop stopped with the tests failing, e.g. "the tests still fail after 3 iterations". */
  gaveUp?: string
}): string {
  const state = !input.draft
    ? 'ready for review'
    : input.gaveUp === undefined
      ? 'draft until its tests pass'
      : `a draft: ${input.gaveUp}; the pull request lists the failures and what to do next`
  return [
    `### DevSys task \`${input.taskId}\`: pull request #${input.pr.number}`,
    '',
    `The code is on branch \`${input.branch}\` in ${input.pr.url} (${state}).`,
  ].join('\n')
}

/**
 * Writes the task's issue comment, when the task came from an issue of this repository: after
 * the PR is opened, and again when it leaves draft, so the issue never says "draft" of a PR
 * that is ready.
 */
export async function updateTaskIssueComment(
  github: GitHubClient,
  store: Pick<CommentStore, 'getCommentId' | 'setCommentId'>,
  target: { owner: string; repo: string },
  task: Pick<Task, 'id' | 'source'>,
  pr: { number: number; url: string; branch: string; draft: boolean; gaveUp?: string },
): Promise<void> {
  const { source } = task
  if (source.kind !== 'issue' || source.issue === undefined) return
  if (source.repo !== `${target.owner}/${target.repo}`) return
  await upsertStickyComment(github, store, {
    ...target,
    issue: source.issue,
    kind: INTAKE_COMMENT,
    body: formatTaskIssueComment({
      taskId: task.id,
      branch: pr.branch,
      pr: { number: pr.number, url: pr.url },
      draft: pr.draft,
      ...(pr.gaveUp === undefined ? {} : { gaveUp: pr.gaveUp }),
    }),
  })
}
