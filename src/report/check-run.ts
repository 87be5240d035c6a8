import type { GitHubClient } from '../app-deps.js'

type ChecksApi = Pick<GitHubClient['rest']['checks'], 'create' | 'update' | 'listForRef'>

export interface CheckAnnotation {
  path: string
  start_line: number
  end_line: number
  start_column?: number
  end_column?: number
  annotation_level: 'notice' | 'warning' | 'failure'
  title?: string
  message: string
}

export type CheckConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required'

/** GitHub rejects check-run summaries and texts over 65,535 characters. */
export const CHECK_TEXT_LIMIT = 65_535
/** GitHub accepts at most 50 annotations per create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50

const CUT_MARKER = '\n\n… (cut: the full report is longer than GitHub allows in a check run)'

/** Shortens `text` to GitHub's limit, ending with a visible marker when something was cut. */
export function fitCheckText(text: string, limit = CHECK_TEXT_LIMIT): string {
  if (text.length <= limit) return text
  return text.slice(0, limit - CUT_MARKER.length) + CUT_MARKER
}

interface CheckTarget {
  owner: string
  repo: string
}

/** Moves a check run to in progress. */
export async function markCheckRunInProgress(
  github: { rest: { checks: ChecksApi } },
  target: CheckTarget & { checkRunId: number },
): Promise<void> {
  await github.rest.checks.update({
    owner: target.owner,
    repo: target.repo,
    check_run_id: target.checkRunId,
    status: 'in_progress',
    started_at: new Date().toISOString(),
    output: { title: 'Running', summary: 'DevSys is running the tests.' },
  })
}

/**
 * Creates a check run on `headSha` and returns its id: queued (the first step of its life) by
 * default, or already in progress when the work starts at once.
 */
export async function createCheckRun(
  github: { rest: { checks: ChecksApi } },
  target: CheckTarget & {
    name: string
    headSha: string
    externalId?: string
    /** Set to start the run in progress with this title. */
    inProgressTitle?: string
  },
): Promise<number> {
  const started = target.inProgressTitle !== undefined
  const { data } = await github.rest.checks.create({
    owner: target.owner,
    repo: target.repo,
    name: target.name,
    head_sha: target.headSha,
    ...(started
      ? { status: 'in_progress' as const, started_at: new Date().toISOString() }
      : { status: 'queued' as const }),
    ...(target.externalId === undefined ? {} : { external_id: target.externalId }),
    output: started
      ? { title: target.inProgressTitle ?? '', summary: 'DevSys is working on it.' }
      : { title: 'Queued', summary: 'DevSys will start shortly.' },
  })
  return data.id
}

/**
 * Completes a check run with its conclusion and output. Annotations beyond the first 50 are
 * sent in follow-up updates of 50 each, as GitHub requires.
 */
export async function completeCheckRun(
  github: { rest: { checks: ChecksApi } },
  target: CheckTarget & {
    checkRunId: number
    conclusion: CheckConclusion
    title: string
    summary: string
    text?: string
    annotations?: CheckAnnotation[]
  },
): Promise<void> {
  const annotations = target.annotations ?? []
  const output = {
    title: target.title.slice(0, 255),
    summary: fitCheckText(target.summary),
    ...(target.text === undefined ? {} : { text: fitCheckText(target.text) }),
  }
  const batches: CheckAnnotation[][] = []
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) {
    batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST))
  }
  await github.rest.checks.update({
    owner: target.owner,
    repo: target.repo,
    check_run_id: target.checkRunId,
    status: 'completed',
    conclusion: target.conclusion,
    completed_at: new Date().toISOString(),
    output: { ...output, ...(batches[0] ? { annotations: batches[0] } : {}) },
  })
  for (const batch of batches.slice(1)) {
    await github.rest.checks.update({
      owner: target.owner,
      repo: target.repo,
      check_run_id: target.checkRunId,
      output: { ...output, annotations: batch },
    })
  }
}

/**
 * Rewrites the title and summary of a check run, completed or not, keeping its conclusion and
 * annotations: the last iteration of a self-fix loop learns how the loop ended after it.
 */
export async function updateCheckRunOutput(
  github: { rest: { checks: ChecksApi } },
  target: CheckTarget & { checkRunId: number; title: string; summary: string },
): Promise<void> {
  await github.rest.checks.update({
    owner: target.owner,
    repo: target.repo,
    check_run_id: target.checkRunId,
    output: { title: target.title.slice(0, 255), summary: fitCheckText(target.summary) },
  })
}

/** Finds the newest check run called `name` on `ref`, e.g. to complete it after a crash. */
export async function findCheckRun(
  github: { rest: { checks: ChecksApi } },
  target: CheckTarget & { ref: string; name: string },
): Promise<{ id: number; status: string } | undefined> {
  const { data } = await github.rest.checks.listForRef({
    owner: target.owner,
    repo: target.repo,
    ref: target.ref,
    check_name: target.name,
    filter: 'latest',
  })
  const run = data.check_runs[0]
  return run ? { id: run.id, status: run.status } : undefined
}

/** A check run DevSys owns on one commit, and how it starts when DevSys creates it. */
export interface OwnedCheckRun extends CheckTarget {
  name: string
  headSha: string
  externalId?: string
  /**
   * Set when the work starts at once: a new run is created in progress with this title, and a
   * run found again is already in progress. Unset: a new run is created queued, and the run
   * (new, given or found) is then marked in progress.
   */
  inProgressTitle?: string
  /**
   * The run to use rather than create one: its id (queued by whoever asked for the work, or
   * started by an earlier attempt), or 'find': the newest run of this name on the commit.
   */
  existing?: number | 'find' | undefined
}

/** How a check run ends: its conclusion and what it says. */
export interface CheckRunResult {
  conclusion: CheckConclusion
  title: string
  summary: string
  text?: string
  annotations?: CheckAnnotation[]
}

/** What runs inside a check run (withCheckRun). */
export interface CheckRunSteps<S, T> {
  /**
   * Runs as soon as the run is found or created, before anything else can fail: where a job
   * records the run's id, so that its retry and its onFailed find the run again.
   */
  opened?: (checkRunId: number) => Promise<S>
  /** The work, while the run is in progress; returns how the run ends and the job's value. */
  work: (checkRunId: number, opened: S) => Promise<{ check: CheckRunResult; value: T }>
  /**
   * How the run ends when the work throws, for work no retry comes back to (a deploy's
   * verification): the run is completed with it, then the error is rethrown. Unset: the run
   * stays in progress for the job's retry, and failCheckRun completes it if none succeeds.
   */
  failed?: (error: unknown) => CheckRunResult
}

/**
 * The life of a check run around a piece of work: found or created, in progress while the work
 * runs, completed with the result the work returns. When the work throws the run is completed
 * with `failed(error)` if given; otherwise it stays in progress for the job's retry to pick up,
 * and once the job fails for good (attempts exhausted, or a crash the queue recovers) its
 * onFailed calls failCheckRun, so no check run is left hanging.
 */
export async function withCheckRun<S, T>(
  github: { rest: { checks: ChecksApi } },
  run: OwnedCheckRun,
  steps: CheckRunSteps<S, T>,
): Promise<T> {
  // A run completed by an earlier attempt is that attempt's result: this attempt starts anew.
  const found = await existingCheckRun(github, run, { open: true })
  const checkRunId = found ?? (await createCheckRun(github, run))
  // Without `opened` there is nothing to pass on: work ignores its second argument.
  const opened = steps.opened ? await steps.opened(checkRunId) : (undefined as S)
  if (run.inProgressTitle === undefined) {
    await markCheckRunInProgress(github, { ...run, checkRunId })
  }
  let ended: { check: CheckRunResult; value: T }
  try {
    ended = await steps.work(checkRunId, opened)
  } catch (error) {
    if (steps.failed !== undefined) {
      // The work's own error is the one to report: a failure to complete the run must not hide it.
      await completeCheckRun(github, { ...run, checkRunId, ...steps.failed(error) }).catch(
        () => undefined,
      )
    }
    throw error
  }
  await completeCheckRun(github, { ...run, checkRunId, ...ended.check })
  return ended.value
}

/**
 * Completes a job's check run with the reason the job failed for good: the run it started
 * (given or found, in any state), or a new one created for the purpose.
 */
export async function failCheckRun(
  github: { rest: { checks: ChecksApi } },
  run: OwnedCheckRun,
  failure: { title: string; summary: string },
): Promise<void> {
  const checkRunId =
    (await existingCheckRun(github, run, { open: false })) ?? (await createCheckRun(github, run))
  await completeCheckRun(github, { ...run, checkRunId, conclusion: 'failure', ...failure })
}

async function existingCheckRun(
  github: { rest: { checks: ChecksApi } },
  run: OwnedCheckRun,
  only: { open: boolean },
): Promise<number | undefined> {
  if (run.existing !== 'find') return run.existing
  const found = await findCheckRun(github, { ...run, ref: run.headSha })
  return found !== undefined && (!only.open || found.status !== 'completed') ? found.id : undefined
}
