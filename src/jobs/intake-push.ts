import type { GitHubClient, IntakeDeps } from '../app-deps.js'
import { fetchRepoConfig, REPO_CONFIG_PATH } from '../config/fetch-repo-config.js'
import { isBookkeepingPath } from '../generate/bookkeeping-paths.js'
import { readRepoFile } from '../github/read-repo-file.js'
import { type StoredPayload, withRepoRef } from '../github/repo-ref.js'
import { type Acceptance, acceptManifest } from '../intake/accept-manifest.js'
import { isSpecPath, readSpecContext } from '../intake/read-spec-context.js'
import { startGeneration } from '../intake/start-generation.js'
import { matchesManifestGlobs } from '../manifest/extract-manifest.js'
import type { ManifestProblem } from '../manifest/types.js'
import { publish } from '../notify/events.js'
import { acceptanceEvent } from '../notify/state-events.js'
import type { JobHandler, Outcome } from '../queue/types.js'
import {
  type CheckAnnotation,
  type CheckRunResult,
  failCheckRun,
  type OwnedCheckRun,
  withCheckRun,
} from '../report/check-run.js'
import { formatProblems } from '../report/format-intake.js'
import { redact } from '../secrets/redact.js'
import type { PushIntakePayload } from '../triggers/push-intake.js'

/** The check run that reports manifest validation on a pushed commit. */
export const MANIFEST_CHECK = 'DevSys / manifest'

interface FileResult {
  path: string
  acceptance: Acceptance
}

/** The `intake-push` job: validates the manifests a push changed and reports on the commit. */
export function createIntakePushJob(
  deps: IntakeDeps,
): JobHandler<StoredPayload<PushIntakePayload>> {
  return {
    kind: 'intake-push',
    async run(stored, ctx) {
      const payload = withRepoRef(stored)
      const github = await deps.auth(payload.installationId)
      return intakePush(github, deps, payload, ctx.job.attempts)
    },
    async onFailed(stored, error) {
      // Never leave the check run in progress: complete it (or create it completed) with the reason.
      const payload = withRepoRef(stored)
      const github = await deps.auth(payload.installationId)
      await failCheckRun(github, manifestCheck(payload, 'Checking manifests', 'find'), {
        title: 'DevSys could not check the manifests',
        summary: `${redact(error)}\n\nDevSys gave up after retrying. Push again to retry.`,
      })
    },
  }
}

/** The `DevSys / manifest` check run of the pushed commit, in progress from the start. */
function manifestCheck(
  payload: PushIntakePayload,
  inProgressTitle: string,
  existing?: 'find',
): OwnedCheckRun {
  return {
    owner: payload.repo.owner,
    repo: payload.repo.name,
    name: MANIFEST_CHECK,
    headSha: payload.sha,
    inProgressTitle,
    existing,
  }
}

async function intakePush(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: PushIntakePayload,
  attempt: number,
): Promise<Outcome> {
  // 1. Which changed files are manifests is the repo config's call, apart from DevSys's own
  //    records (.devsys/task.yml…), which a merged DevSys PR adds and are never manifests.
  //    Spec Kit specs (specs/*/spec.md by default) are manifests too.
  const loaded = await fetchRepoConfig(github, {
    owner: payload.repo.owner,
    repo: payload.repo.name,
  })
  if (!loaded.ok) {
    const { problems } = loaded
    return withCheckRun(github, manifestCheck(payload, 'Reading the repo config'), {
      work: async () => ({
        check: {
          conclusion: 'failure',
          title: `${REPO_CONFIG_PATH} is invalid`,
          summary: formatProblems(REPO_CONFIG_PATH, problems),
          annotations: annotate(REPO_CONFIG_PATH, problems),
        },
        value: {
          status: 'rejected',
          reason: 'invalid-repo-config',
          summary: 'repo config is invalid',
        } satisfies Outcome,
      }),
    })
  }
  const { config } = loaded
  const manifests = payload.changedFiles.filter(
    (path) =>
      !isBookkeepingPath(path) &&
      (matchesManifestGlobs(path, config.manifests) || matchesManifestGlobs(path, config.specs)),
  )
  if (manifests.length === 0) {
    return { status: 'skipped', reason: 'no-manifests', summary: 'the push changed no manifest' }
  }
  // 2. Report progress on the pushed commit (a retry reuses the check run its first attempt
  //    started), check each manifest as it is in that commit, and conclude once for the push.
  const title = `Checking ${manifests.length} manifest${manifests.length === 1 ? '' : 's'}`
  const check = manifestCheck(payload, title, attempt > 1 ? 'find' : undefined)
  const results = await withCheckRun(github, check, {
    work: async () => {
      const checked = await checkFiles(github, deps, payload, manifests)
      return { check: conclude(checked), value: checked }
    },
  })
  const failed = results.filter((r) => r.acceptance.kind !== 'saved')
  const summary = `${results.length - failed.length} accepted, ${failed.length} invalid`
  if (failed.length > 0) return { status: 'rejected', reason: 'invalid-manifest', summary }
  return {
    status: 'done',
    summary,
    details: { files: results.map((r) => ({ path: r.path, result: resultOf(r.acceptance) })) },
  }
}

/** Checks each manifest in turn, and starts the generation of each task it saved. */
async function checkFiles(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: PushIntakePayload,
  manifests: string[],
): Promise<FileResult[]> {
  const results: FileResult[] = []
  for (const path of manifests) {
    const acceptance = await checkFile(github, deps, payload, path)
    results.push({ path, acceptance })
    const where = { repo: payload.repo.fullName, installationId: payload.installationId }
    const source = { ...where, source: path, url: payload.commitUrl }
    await publish(deps.notify, acceptanceEvent(source, `${payload.sha}:${path}`, acceptance))
    if (acceptance.kind === 'saved') {
      await startGeneration(deps.enqueue, acceptance.task, acceptance.result, {
        installationId: payload.installationId,
        repo: payload.repo,
        requester: payload.requester,
        ...(payload.requesterId === undefined ? {} : { requesterId: payload.requesterId }),
      })
    }
  }
  return results
}

/** One conclusion for the push, with an annotation on every problem's line. */
function conclude(results: FileResult[]): CheckRunResult {
  const failed = results.filter((r) => r.acceptance.kind !== 'saved')
  return {
    conclusion: failed.length === 0 ? 'success' : 'failure',
    title:
      failed.length === 0
        ? `${results.length} manifest${results.length === 1 ? '' : 's'} accepted`
        : `${failed.length} of ${results.length} manifest${results.length === 1 ? '' : 's'} invalid`,
    summary: summarize(results),
    annotations: failed.flatMap((r) =>
      r.acceptance.kind === 'saved' ? [] : annotate(r.path, r.acceptance.problems),
    ),
  }
}

async function checkFile(
  github: GitHubClient,
  deps: IntakeDeps,
  payload: PushIntakePayload,
  path: string,
): Promise<Acceptance> {
  const file = await readRepoFile(github, {
    owner: payload.repo.owner,
    repo: payload.repo.name,
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
  const context = isSpecPath(path)
    ? await readSpecContext(github, {
        owner: payload.repo.owner,
        repo: payload.repo.name,
        ref: payload.sha,
        specPath: path,
        maxBytes: deps.maxManifestBytes,
      })
    : undefined
  return acceptManifest(deps.store, {
    text: file.text,
    origin: { label: path, path },
    ...(context === undefined ? {} : { context }),
    source: {
      kind: 'push',
      repo: payload.repo.fullName,
      commit: payload.sha,
      ref: payload.ref,
      path,
      key: `push:${payload.repo.fullName}:${path}`,
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
