import type { Enqueue, GitHubClient } from '../app-deps.js'
import { createCheckRun } from '../report/check-run.js'
import { type RunTestsPayload, TESTS_CHECK, testsJobKey } from '../triggers/job-payloads.js'

/**
 * Asks for a test run of a task's commit: the `DevSys / tests` check run appears queued on the
 * commit at once, and the `run-tests` job takes it from there.
 */
export async function startTests(
  github: GitHubClient,
  enqueue: Enqueue,
  run: Omit<RunTestsPayload, 'checkRunId'>,
): Promise<number> {
  const checkRunId = await createCheckRun(github, {
    owner: run.repo.owner,
    repo: run.repo.name,
    name: TESTS_CHECK,
    headSha: run.headSha,
    externalId: run.taskId,
  })
  const payload: RunTestsPayload = { ...run, checkRunId }
  await enqueue({
    kind: 'run-tests',
    key: testsJobKey({ repo: run.repo.fullName, id: run.taskId }),
    payload,
  })
  return checkRunId
}
