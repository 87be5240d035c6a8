import type { Logger } from 'pino'
import type { SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'
import type { Enqueue, GitHubAuth, GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import { type AgentServerSettings, createGenerator } from '../generate/create-generator.js'
import { type Generation, runGeneration } from '../generate/run-generation.js'
import { GenerateError } from '../generate/types.js'
import type { GitWorkspaces } from '../git/create-git-workspaces.js'
import { GitError } from '../git/git-error.js'
import { commitIdentity, getBotIdentity } from '../github/bot-identity.js'
import { installationToken } from '../github/installation-token.js'
import { startTests } from '../intake/start-tests.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import { formatProblems, formatStopComment } from '../report/format-intake.js'
import { formatLoopGaveUp, formatLoopReport } from '../report/format-iterations.js'
import {
  formatGeneratedComment,
  formatPullRequestBody,
  formatPullRequestTitle,
} from '../report/format-pull-request.js'
import { markReadyForReview, upsertPullRequest } from '../report/pull-request.js'
import { reactToComment } from '../report/reaction.js'
import { PR_STATUS_COMMENT, upsertStickyComment } from '../report/sticky-comment.js'
import { updateTaskIssueComment } from '../report/task-issue-comment.js'
import type { Store, Task } from '../store/store.js'
import type { GeneratePayload } from '../triggers/job-payloads.js'
import { closeDeadGenerations, type GenerateLoop, startGenerateLoop } from './generate-loop.js'
import type { RunTestsDeps } from './run-tests.js'

export interface GenerateDeps {
  store: Store
  auth: GitHubAuth
  git: GitWorkspaces
  /** Starts the tests of what was pushed. */
  enqueue: Enqueue
  maxManifestBytes: number
  /** Where a command generator's agent runs (the server's sandbox settings). */
  sandbox?: SandboxSettings
  /** The coding agents' model endpoint (AGENT_*), for the agent generator. */
  agent?: AgentServerSettings
  /**
   * The test runner for a repo config's choice. With it, command and agent generators run the
   * self-fix loop (tests after each iteration); without it their tests run in a `run-tests` job.
   */
  runner?: RunTestsDeps['runner']
  /** Makes the generator; default createGenerator (tests pass generators that report activity). */
  createGenerator?: typeof createGenerator
  /** The loop's clock, for its time budget; default Date.now. */
  now?: () => number
}

/** Sticky comment kind of the intake result on the task's issue. */
const INTAKE_COMMENT = 'intake'

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
        await closeDeadGenerations(
          github,
          deps.store,
          { owner: payload.repo.owner, repo: payload.repo.name },
          task,
        ).catch(() => undefined)
      // A loop pushes each iteration as it is made: what was pushed stays on the branch.
      const [latest] = task ? await deps.store.listGenerations(task, 1) : []
      const kept = latest?.iterations.findLast((i) => i.committed && i.headSha !== null)
      const pushed =
        kept?.headSha == null
          ? 'Nothing was pushed.'
          : `The branch \`devsys/${payload.taskId}\` keeps what earlier iterations pushed (up to ${kept.headSha.slice(0, 7)}).`
      await stop(
        github,
        deps,
        payload,
        task,
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
  const { repo } = payload
  const target = { owner: repo.owner, repo: repo.name }
  // 1. The task as stored, and its manifest.
  const task = await deps.store.getTask({ repo: repo.fullName, id: payload.taskId })
  if (!task)
    return {
      status: 'skipped',
      reason: 'task-gone',
      summary: `task ${payload.taskId} no longer exists`,
    }
  const parsed = parseTaskManifest(task, deps.maxManifestBytes)
  if (!parsed.ok) {
    await stop(
      github,
      deps,
      payload,
      task,
      'DevSys cannot generate this task',
      formatProblems(`task ${task.id}`, parsed.problems),
    )
    return {
      status: 'rejected',
      reason: 'invalid-manifest',
      summary: 'stored manifest no longer valid',
    }
  }
  const manifest = parsed.manifest
  // 2. Settings from the default branch, and who commits.
  const loaded = await fetchRepoConfig(github, target)
  if (!loaded.ok) {
    await stop(
      github,
      deps,
      payload,
      task,
      `DevSys cannot read ${REPO_CONFIG_PATH}`,
      formatProblems(REPO_CONFIG_PATH, loaded.problems),
    )
    return { status: 'rejected', reason: 'invalid-repo-config', summary: 'repo config is invalid' }
  }
  const config = loaded.config
  const webHost = new URL(repo.htmlUrl).host
  const bot = await getBotIdentity({ app: () => deps.auth(), installation: github }, webHost)
  const identity = commitIdentity(
    bot,
    { login: payload.requester, id: payload.requesterId },
    webHost,
  )
  const token = await installationToken(github, payload.installationId)
  const branch = `devsys/${task.id}`
  const generatorKind = manifest.generator ?? config.generator.kind

  // 3. Generate, commit and push in a temporary clone; an expected failure of the first run
  //    pushes nothing. Command and agent generators run the self-fix loop: tests after each
  //    iteration, and another run with the failures while iterations and time are left.
  const { runner } = deps
  let loop: GenerateLoop | undefined
  if (generatorKind !== 'scaffold' && runner !== undefined) {
    loop = await startGenerateLoop({
      github,
      store: deps.store,
      target,
      task,
      manifest,
      config,
      generator:
        generatorKind === 'agent' && config.generator.agent !== undefined
          ? `agent:${config.generator.agent}`
          : generatorKind,
      reason: payload.reason,
      runner: () => runner(config.runner, log),
      now: deps.now,
      signal,
      log,
    })
  }
  let pushed: Generation
  try {
    const generator = (deps.createGenerator ?? createGenerator)(generatorKind, config.generator, {
      ...(deps.sandbox === undefined ? {} : { sandbox: deps.sandbox }),
      ...(deps.agent === undefined ? {} : { agent: deps.agent }),
    })
    pushed = await runGeneration({
      git: deps.git,
      repo,
      branch,
      auth: { token },
      generator,
      manifest,
      spec: task.spec,
      feedback: payload.feedback,
      identity,
      message:
        payload.reason === 'revise'
          ? `Revise ${task.id}: ${firstLine(payload.feedback)}`
          : `Generate ${task.id} (revision ${task.revision})`,
      loop: loop?.options,
      signal,
      log,
    })
    if (pushed.loop !== undefined) await loop?.finish(pushed.loop)
  } catch (error) {
    await loop?.fail(error)
    if (error instanceof GenerateError) {
      await stop(
        github,
        deps,
        payload,
        task,
        `DevSys could not generate \`${task.id}\``,
        `${error.message}\n\nNothing was pushed.`,
      )
      return { status: 'rejected', reason: `generator-${error.code}`, summary: error.message }
    }
    // Git failures (a moved branch, an unreachable remote) may pass: let the queue retry.
    if (error instanceof GitError)
      log.warn({ code: error.code }, 'git step failed; the job will retry')
    throw error
  }
  const looped =
    pushed.loop !== undefined && pushed.loop.end !== 'untested' ? pushed.loop : undefined
  const passed = looped?.end === 'passed'
  const loopReport =
    looped === undefined || loop === undefined ? undefined : formatLoopReport(looped, loop.limits)
  const gaveUp = looped === undefined ? undefined : formatLoopGaveUp(looped)

  // 4. The pull request: created once, then kept up to date.
  const pr = await upsertPullRequest(github, {
    ...target,
    head: branch,
    base: repo.defaultBranch,
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
  const updated = await deps.store.setTaskCode(
    task,
    { branch, headSha: pushed.sha, pullRequest: { number: pr.number, url: pr.url } },
    'devsys',
  )
  if (task.status === 'pending') await deps.store.setTaskStatus(task, 'in_progress', 'devsys')

  // 5. Tell people: the PR's status comment, and the issue that asked for the task.
  await upsertStickyComment(github, deps.store, {
    ...target,
    issue: pr.number,
    kind: PR_STATUS_COMMENT,
    body: formatGeneratedComment({
      task: updated ?? task,
      headSha: pushed.sha,
      committed: pushed.committed,
      files: pushed.files.length,
      summary: pushed.summary,
      feedback: payload.feedback,
      ...(loopReport === undefined ? {} : { loop: loopReport }),
    }),
  })
  // An existing draft whose tests now pass (they ran in the loop) is ready for review.
  const ready =
    passed && pr.draft && (await markReadyForReview(github, { ...target, number: pr.number }))
  await updateTaskIssueComment(github, deps.store, target, task, {
    ...pr,
    branch,
    draft: ready ? false : pr.draft,
    ...(gaveUp === undefined ? {} : { gaveUp }),
  })
  // 6. Test what was pushed: after a loop its last check run is the result; otherwise the check
  //    run is queued now, and the tests run in their own job.
  const lastRun = await deps.store.latestTestRun(task)
  if (pushed.loop === undefined && (pushed.committed || lastRun?.headSha !== pushed.sha)) {
    await startTests(github, deps.enqueue, {
      installationId: payload.installationId,
      taskId: task.id,
      repo,
      headSha: pushed.sha,
      reason: 'generated',
    })
  }
  if (looped !== undefined && !passed) {
    await react(github, payload, 'confused')
    return {
      status: 'rejected',
      reason: `tests-failing-${looped.end}`,
      summary: `pushed ${pushed.sha.slice(0, 7)} after ${looped.iterations.length} iterations, tests still failing (${looped.end}), PR #${pr.number}`,
    }
  }
  await react(github, payload, 'rocket')
  return {
    status: 'done',
    summary: `${pushed.committed ? 'pushed' : 'no changes at'} ${pushed.sha.slice(0, 7)}, PR #${pr.number}`,
    details: {
      sha: pushed.sha,
      pr: pr.number,
      files: pushed.files.length,
      committed: pushed.committed,
      ...(looped === undefined ? {} : { iterations: looped.iterations.length }),
    },
  }
}

/**
 * Tells people why DevSys stopped: on the PR when the task has one, else on the issue it came
 * from, and with 😕 on the `/revise` comment that asked, if one did.
 */
async function stop(
  github: GitHubClient,
  deps: GenerateDeps,
  payload: GeneratePayload,
  task: Task | undefined,
  title: string,
  message: string,
): Promise<void> {
  await report(github, deps, payload, task, formatStopComment(title, message))
  await react(github, payload, 'confused')
}

/** Writes the task's sticky comment: on its PR when it has one, else on its issue. */
async function report(
  github: GitHubClient,
  deps: GenerateDeps,
  payload: GeneratePayload,
  task: Task | undefined,
  body: string,
) {
  const { owner, name } = payload.repo
  const pr = task?.code?.pullRequest?.number
  const issue = pr ?? (task?.source.kind === 'issue' ? task.source.issue : undefined)
  if (issue === undefined) return
  await upsertStickyComment(github, deps.store, {
    owner,
    repo: name,
    issue,
    kind: pr === undefined ? INTAKE_COMMENT : PR_STATUS_COMMENT,
    body,
  })
}

/** Reacts to the `/revise` comment that started the job; nothing when no comment did. */
function react(github: GitHubClient, payload: GeneratePayload, content: 'rocket' | 'confused') {
  if (payload.commentId === undefined) return Promise.resolve()
  return reactToComment(github, {
    owner: payload.repo.owner,
    repo: payload.repo.name,
    commentId: payload.commentId,
    content,
  })
}

function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n')[0]?.trim() ?? ''
  return line.length > 60 ? `${line.slice(0, 60)}…` : line
}
