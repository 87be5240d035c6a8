import type { Logger } from 'pino'
import type { GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import { commitIdentity, getBotIdentity } from '../github/bot-identity.js'
import { installationToken } from '../github/installation-token.js'
import { startTests } from '../intake/start-tests.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { INTAKE_COMMENT, PR_STATUS_COMMENT } from '../report/comment-kinds.js'
import { formatProblems } from '../report/format-intake.js'
import { type Reply, replyOn } from '../report/reply.js'
import type { Task } from '../store/store.js'
import type { GeneratePayload } from '../triggers/job-payloads.js'
import { type GenerateDeps, generateCode, type Prepared, targetOf } from './steps/generate-code.js'
import { closeDeadGenerations } from './steps/generate-loop.js'
import { publishGeneration } from './steps/publish-generation.js'

export type { GenerateDeps } from './steps/generate-code.js'

/** The `generate` job. */
export function createGenerateJob(deps: GenerateDeps): JobHandler<GeneratePayload> {
  return {
    kind: 'generate',
    async run(payload, ctx) {
      const github = await deps.auth(payload.installationId)
      return generateTask(github, deps, payload, ctx.log, ctx.signal)
    },
    async onFailed(payload, error) {
      const github = await deps.auth(payload.installationId)
      const task = await deps.store.getTask({ repo: payload.repo.fullName, id: payload.taskId })
      // A DevSys that died during a loop's tests left its check run in progress.
      if (task)
        await closeDeadGenerations(github, deps.store, targetOf(payload), task).catch(
          () => undefined,
        )
      // A loop pushes each iteration as it is made: what was pushed stays on the branch.
      const [latest] = task ? await deps.store.listGenerations(task, 1) : []
      const kept = latest?.iterations.findLast((i) => i.committed && i.headSha !== null)
      const pushed =
        kept?.headSha == null
          ? 'Nothing was pushed.'
          : `The branch \`devsys/${payload.taskId}\` keeps what earlier iterations pushed (up to ${kept.headSha.slice(0, 7)}).`
      await replyTo(github, deps, payload, task).stop(
        `DevSys could not generate \`${payload.taskId}\``,
        `${error}\n\n${pushed} DevSys gave up after retrying; comment \`/revise\` on the pull request or edit the issue to try again.`,
      )
    },
  }
}

async function generateTask(
  github: GitHubClient,
  deps: GenerateDeps,
  payload: GeneratePayload,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  // 1. The task as stored and its manifest; settings from the default branch, and who commits.
  const prepared = await prepare(github, deps, payload)
  if ('status' in prepared) return prepared
  // 2. Generate, commit and push in a temporary clone (with the self-fix loop for command and
  //    agent generators).
  const generated = await generateCode(github, deps, payload, prepared, log, signal)
  if ('failed' in generated) {
    const { failed } = generated
    await replyTo(github, deps, payload, prepared.task).stop(
      `DevSys could not generate \`${prepared.task.id}\``,
      `${failed.message}\n\nNothing was pushed.`,
    )
    return { status: 'rejected', reason: `generator-${failed.code}`, summary: failed.message }
  }
  // 3. The pull request: created once, then kept up to date; the people told.
  const pr = await publishGeneration(github, deps, payload, prepared, generated)
  // 4. Test what was pushed: after a loop its last check run is the result; otherwise the check
  //    run is queued now, and the tests run in their own job.
  const { task } = prepared
  const { pushed, looped } = generated
  const lastRun = await deps.store.latestTestRun(task)
  if (pushed.loop === undefined && (pushed.committed || lastRun?.headSha !== pushed.sha)) {
    await startTests(github, deps.enqueue, {
      installationId: payload.installationId,
      taskId: task.id,
      repo: payload.repo,
      headSha: pushed.sha,
      reason: 'generated',
    })
  }
  // 5. The outcome, with 🚀 or 😕 on the `/revise` comment that asked.
  const reply = replyTo(github, deps, payload, task)
  if (looped !== undefined && looped.end !== 'passed') {
    await reply.react('confused')
    return {
      status: 'rejected',
      reason: `tests-failing-${looped.end}`,
      summary: `pushed ${pushed.sha.slice(0, 7)} after ${looped.iterations.length} iterations, tests still failing (${looped.end}), PR #${pr}`,
    }
  }
  await reply.react('rocket')
  return {
    status: 'done',
    summary: `${pushed.committed ? 'pushed' : 'no changes at'} ${pushed.sha.slice(0, 7)}, PR #${pr}`,
    details: {
      sha: pushed.sha,
      pr,
      files: pushed.files.length,
      committed: pushed.committed,
      ...(looped === undefined ? {} : { iterations: looped.iterations.length }),
    },
  }
}

/** Reads the task, its manifest, the repo config and the commit identity, or says why not. */
async function prepare(
  github: GitHubClient,
  deps: GenerateDeps,
  payload: GeneratePayload,
): Promise<Prepared | Outcome> {
  const { repo } = payload
  const task = await deps.store.getTask({ repo: repo.fullName, id: payload.taskId })
  if (!task)
    return {
      status: 'skipped',
      reason: 'task-gone',
      summary: `task ${payload.taskId} no longer exists`,
    }
  const reply = replyTo(github, deps, payload, task)
  const parsed = parseTaskManifest(task, deps.maxManifestBytes)
  if (!parsed.ok) {
    const problems = formatProblems(`task ${task.id}`, parsed.problems)
    await reply.stop('DevSys cannot generate this task', problems)
    return {
      status: 'rejected',
      reason: 'invalid-manifest',
      summary: 'stored manifest no longer valid',
    }
  }
  const loaded = await fetchRepoConfig(github, targetOf(payload))
  if (!loaded.ok) {
    const problems = formatProblems(REPO_CONFIG_PATH, loaded.problems)
    await reply.stop(`DevSys cannot read ${REPO_CONFIG_PATH}`, problems)
    return { status: 'rejected', reason: 'invalid-repo-config', summary: 'repo config is invalid' }
  }
  const webHost = new URL(repo.htmlUrl).host
  const bot = await getBotIdentity({ app: () => deps.auth(), installation: github }, webHost)
  const requester = { login: payload.requester, id: payload.requesterId }
  return {
    task,
    manifest: parsed.manifest,
    config: loaded.config,
    generatorKind: parsed.manifest.generator ?? loaded.config.generator.kind,
    identity: commitIdentity(bot, requester, webHost),
    token: await installationToken(github, payload.installationId),
    branch: `devsys/${task.id}`,
  }
}

/**
 * The job's answers: the task's sticky comment on its PR when it has one, else on the issue it
 * came from; reactions on the `/revise` comment that asked, if one did.
 */
function replyTo(
  github: GitHubClient,
  deps: GenerateDeps,
  payload: GeneratePayload,
  task: Task | undefined,
): Reply {
  const pr = task?.code?.pullRequest?.number
  return replyOn(github, deps.store, {
    ...targetOf(payload),
    issue: pr ?? (task?.source.kind === 'issue' ? task.source.issue : undefined),
    kind: pr === undefined ? INTAKE_COMMENT : PR_STATUS_COMMENT,
    asker: payload.commentId === undefined ? undefined : { commentId: payload.commentId },
  })
}
