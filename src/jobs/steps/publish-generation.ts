import type { GitHubClient } from '../../app-deps.js'
import { publish } from '../../notify/events.js'
import { prOpened } from '../../notify/state-events.js'
import { PR_STATUS_COMMENT } from '../../report/comment-kinds.js'
import { formatLoopGaveUp } from '../../report/format-iterations.js'
import {
  formatGeneratedComment,
  formatPullRequestBody,
  formatPullRequestTitle,
} from '../../report/format-pull-request.js'
import { markReadyForReview, upsertPullRequest } from '../../report/pull-request.js'
import { replyOn } from '../../report/reply.js'
import { updateTaskIssueComment } from '../../report/task-issue-comment.js'
import type { GeneratePayload } from '../../triggers/job-payloads.js'
import { type GenerateDeps, type Prepared, type Pushed, targetOf } from './generate-code.js'

/**
 * Creates or updates the PR and records it; then tells people: the PR's status comment, and
 * the issue that asked for the task. Returns the PR's number.
 */
export async function publishGeneration(
  github: GitHubClient,
  deps: GenerateDeps,
  payload: GeneratePayload,
  { task, manifest, config, generatorKind, branch }: Prepared,
  { pushed, looped, loopReport }: Pushed,
): Promise<number> {
  const target = targetOf(payload)
  const passed = looped?.end === 'passed'
  const pr = await upsertPullRequest(github, {
    ...target,
    head: branch,
    base: payload.repo.defaultBranch,
    title: formatPullRequestTitle(task),
    body: formatPullRequestBody({
      task,
      manifest,
      files: pushed.files,
      generator: generatorKind,
      headSha: pushed.sha,
      ...(loopReport === undefined ? {} : { loop: loopReport }),
    }),
    // After the loop the tests have run: a PR whose tests fail is a draft, one whose tests pass
    // is ready.
    draft: looped === undefined ? config.draftUntilTestsPass : !passed,
    knownNumber: task.code?.pullRequest?.number ?? null,
  })
  const code = { branch, headSha: pushed.sha, pullRequest: { number: pr.number, url: pr.url } }
  const updated = await deps.store.setTaskCode(task, code, 'devsys')
  await publish(deps.notify, prOpened(updated ?? task, pr))
  if (task.status === 'pending') await deps.store.setTaskStatus(task, 'in_progress', 'devsys')
  const status = replyOn(github, deps.store, {
    ...target,
    issue: pr.number,
    kind: PR_STATUS_COMMENT,
  })
  await status.say(
    formatGeneratedComment({
      task: updated ?? task,
      headSha: pushed.sha,
      committed: pushed.committed,
      files: pushed.files.length,
      summary: pushed.summary,
      feedback: payload.feedback,
      ...(loopReport === undefined ? {} : { loop: loopReport }),
    }),
  )
  // An existing draft whose tests now pass (they ran in the loop) is ready for review.
  const ready =
    passed && pr.draft && (await markReadyForReview(github, { ...target, number: pr.number }))
  const gaveUp = looped === undefined ? undefined : formatLoopGaveUp(looped)
  await updateTaskIssueComment(github, deps.store, target, task, {
    ...pr,
    branch,
    draft: ready ? false : pr.draft,
    ...(gaveUp === undefined ? {} : { gaveUp }),
  })
  return pr.number
}
