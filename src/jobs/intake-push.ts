import type { GitHubClient } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import { isBookkeepingPath } from '../generate/bookkeeping-paths.js'
import { readRepoFile } from '../github/read-repo-file.js'
import { type Acceptance, acceptManifest } from '../intake/accept-manifest.js'
import { startGeneration } from '../intake/start-generation.js'
import { matchesManifestGlobs } from '../manifest/extract-manifest.js'
import type { ManifestProblem } from '../manifest/types.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import {
  type CheckAnnotation,
  completeCheckRun,
  createCheckRun,
  findCheckRun,
} from '../report/check-run.js'
import { formatProblems } from '../report/format-intake.js'
import { redact } from '../secrets/redact.js'
import type { PushIntakePayload } from '../triggers/push-intake.js'
import type { IntakeDeps } from './intake-issue.js'

/** The check run that reports manifest validation on a pushed commit. */
export const MANIFEST_CHECK = 'DevSys / manifest'

interface FileResult {
  path: string
  acceptance: Acceptance
}

/** The `intake-push` job: validates the manifests a push changed and reports on the commit. */
export function createIntakePushJob(deps: IntakeDeps): JobHandler<PushIntakePayload> {
  return {
    kind: 'intake-push',
    async run(payload, ctx) {
      const github = await deps.auth(payload.installationId)
      return intakePush(github, deps, payload, ctx.job.attempts)
    },
    async onFailed(payload, error) {
      // Never leave the check run in progress: complete it (or create it completed) with the reason.
      const github = await deps.auth(payload.installationId)
      const target = { owner: payload.owner, repo: payload.repo }
      const existing = await findCheckRun(github, {
        ...target,
        ref: payload.sha,
        name: MANIFEST_CHECK,
      })
      const checkRunId =
        existing?.id ??
        (await createCheckRun(github, {
          ...target,
          name: MANIFEST_CHECK,
          headSha: payload.sha,
          inProgressTitle: 'Checking manifests',
        }))
      await completeCheckRun(github, {
        ...target,
        checkRunId,
        conclusion: 'failure',
        title: 'DevSys could not check the manifests',
        summary: `${redact(error)}\n\nDevSys gave up after retrying. Push again to retry.`,
      })
    },
  }
}

async function intakePush(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: PushIntakePayload,
  attempt: number,
): Promise<Outcome> {
  const target = { owner: payload.owner, repo: payload.repo }
  // 1. Which changed files are manifests is the repo config's call, apart from DevSys's own
  //    records (.devsys/task.yml…), which a merged DevSys PR adds and are never manifests.
  const loaded = await fetchRepoConfig(github, target)
  if (!loaded.ok) {
    const checkRunId = await createCheckRun(github, {
      ...target,
      name: MANIFEST_CHECK,
      headSha: payload.sha,
      inProgressTitle: 'Reading the repo config',
    })
    await completeCheckRun(github, {
      ...target,
      checkRunId,
      conclusion: 'failure',
      title: `${REPO_CONFIG_PATH} is invalid`,
      summary: formatProblems(REPO_CONFIG_PATH, loaded.problems),
      annotations: annotate(REPO_CONFIG_PATH, loaded.problems),
    })
    return { status: 'rejected', reason: 'invalid-repo-config', summary: 'repo config is invalid' }
  }
  const manifests = payload.changedFiles.filter(
    (path) => !isBookkeepingPath(path) && matchesManifestGlobs(path, loaded.config.manifests),
  )
  if (manifests.length === 0) {
    return { status: 'skipped', reason: 'no-manifests', summary: 'the push changed no manifest' }
  }
  // 2. Report progress on the pushed commit (a retry reuses the check run its first attempt
  //    started), then check each manifest as it is in that commit.
  const previous =
    attempt > 1
      ? await findCheckRun(github, { ...target, ref: payload.sha, name: MANIFEST_CHECK })
      : undefined
  const checkRunId =
    previous && previous.status !== 'completed'
      ? previous.id
      : await createCheckRun(github, {
          ...target,
          name: MANIFEST_CHECK,
          headSha: payload.sha,
          inProgressTitle: `Checking ${manifests.length} manifest${manifests.length === 1 ? '' : 's'}`,
        })
  const results: FileResult[] = []
  for (const path of manifests) {
    const acceptance = await checkFile(github, deps, payload, path)
    results.push({ path, acceptance })
    if (acceptance.kind === 'saved') {
      await startGeneration(deps.enqueue, acceptance.task, acceptance.result, {
        installationId: payload.installationId,
        repo: {
          owner: payload.owner,
          name: payload.repo,
          fullName: payload.fullName,
          cloneUrl: payload.cloneUrl,
          htmlUrl: payload.htmlUrl,
          defaultBranch: payload.defaultBranch,
        },
        requester: payload.requester,
        ...(payload.requesterId === undefined ? {} : { requesterId: payload.requesterId }),
      })
    }
  }
  // 3. One conclusion for the push, with an annotation on every problem's line.
  const failed = results.filter((r) => r.acceptance.kind !== 'saved')
  await completeCheckRun(github, {
    ...target,
    checkRunId,
    conclusion: failed.length === 0 ? 'success' : 'failure',
    title:
      failed.length === 0
        ? `${results.length} manifest${results.length === 1 ? '' : 's'} accepted`
        : `${failed.length} of ${results.length} manifest${results.length === 1 ? '' : 's'} invalid`,
    summary: summarize(results),
    annotations: failed.flatMap((r) =>
      r.acceptance.kind === 'saved' ? [] : annotate(r.path, r.acceptance.problems),
    ),
  })
  const summary = `${results.length - failed.length} accepted, ${failed.length} invalid`
  if (failed.length > 0) return { status: 'rejected', reason: 'invalid-manifest', summary }
  return {
    status: 'done',
    summary,
    details: { files: results.map((r) => ({ path: r.path, result: resultOf(r.acceptance) })) },
  }
}

async function checkFile(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: PushIntakePayload,
  path: string,
): Promise<Acceptance> {
  const file = await readRepoFile(github, {
    owner: payload.owner,
    repo: payload.repo,
    path,
    ref: payload.sha,
    maxBytes: deps.maxManifestBytes,
  })
  if (file.kind !== 'found') {
    const message =
      file.kind === 'too-large'
        ? `manifest is ${file.size} bytes, over the ${deps.maxManifestBytes}-byte limit`
        : file.kind === 'missing'
          ? 'manifest is not in the pushed commit'
          : `manifest path is a ${file.type}, not a file`
    return {
      kind: 'invalid',
      problems: [
        {
          pointer: '',
          line: 1,
          column: 1,
          endLine: 1,
          message,
          hint: 'push a manifest file under the limit',
        },
      ],
    }
  }
  return acceptManifest(deps.store, {
    text: file.text,
    origin: { label: path, path },
    source: {
      kind: 'push',
      repo: payload.fullName,
      commit: payload.sha,
      ref: payload.ref,
      path,
      key: `push:${payload.fullName}:${path}`,
      requester: payload.requester,
      ...(payload.requesterId === undefined ? {} : { requesterId: payload.requesterId }),
      url: payload.commitUrl,
      installationId: payload.installationId,
    },
    maxBytes: deps.maxManifestBytes,
  })
}

function resultOf(acceptance: Acceptance): string {
  return acceptance.kind === 'saved' ? acceptance.result : acceptance.kind
}

function summarize(results: FileResult[]): string {
  const table = [
    '| manifest | result | task |',
    '| --- | --- | --- |',
    ...results.map((r) => {
      const task =
        r.acceptance.kind === 'saved'
          ? `\`${r.acceptance.task.id}\` (revision ${r.acceptance.task.revision})`
          : '—'
      return `| \`${r.path}\` | ${resultOf(r.acceptance)} | ${task} |`
    }),
  ]
  const details = results.flatMap((r) =>
    r.acceptance.kind === 'saved' ? [] : ['', formatProblems(r.path, r.acceptance.problems)],
  )
  return [...table, ...details].join('\n')
}

function annotate(path: string, problems: ManifestProblem[]): CheckAnnotation[] {
  return problems.map((p) => ({
    path,
    start_line: p.line,
    end_line: Math.max(p.line, p.endLine),
    // GitHub only accepts columns on single-line annotations.
    ...(p.endLine <= p.line ? { start_column: p.column, end_column: p.column } : {}),
    annotation_level: 'failure' as const,
    title: p.pointer === '' ? 'manifest' : p.pointer,
    message: `${p.message}\nHow to fix: ${p.hint}`,
  }))
}
