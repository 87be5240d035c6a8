import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import type { Logger } from 'pino'
import { simpleGit } from 'simple-git'
import { parseJUnitReport } from '../../runner/junit/parse-junit-report.js'
import type { SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'
import type { Runner } from '../../runner/types.js'
import { parseRepoConfig } from '../config/load-repo-config.js'
import { withRelease } from '../deploy/checkout-release.js'
import { PhpMissingError, servePhp } from '../deploy/serve-local.js'
import { createLocalTarget } from '../deploy/targets/local-target.js'
import { DeployError } from '../deploy/types.js'
import { createGenerator } from '../generate/create-generator.js'
import { runGeneration } from '../generate/run-generation.js'
import { GenerateError } from '../generate/types.js'
import { createGitWorkspaces, type GitWorkspaces } from '../git/create-git-workspaces.js'
import { GitError } from '../git/git-error.js'
import type { GitRepo } from '../git/types.js'
import { buildTaskSpec } from '../manifest/build-task-spec.js'
import { parseManifest } from '../manifest/parse-manifest.js'
import type { Manifest } from '../manifest/types.js'
import { EMPTY_ALLOW_LIST } from '../verify/parse-allowed-hosts.js'
import { runAcceptance } from '../verify/run-acceptance.js'
import { printProblems } from './print-problems.js'

export interface LocalRunOptions {
  manifestPath: string
  repoPath: string
  /** The branch generated code starts from (default: the repository's current branch). */
  base?: string | undefined
  feedback?: string | undefined
  /** Where git mirrors are cached (default: DATA_DIR/git). */
  cacheDir: string
  /** Also run the task's tests on the generated branch with this runner, and print the report. */
  runner?: Runner | undefined
  /** Where a generator command and the served site run; default the sandbox, default limits. */
  sandbox?: SandboxSettings | undefined
  /**
   * Also deploy the branch to a local target in this folder (releases/, current) and serve it
   * with `php -S`, then run the manifest's acceptance checks against it.
   */
  deployDir?: string | undefined
  log: Logger
  out: (line: string) => void
}

export type LocalRunResult =
  | {
      ok: true
      branch: string
      sha: string
      committed: boolean
      files: string[]
      testsPassed?: boolean
      /** Present with deployDir: where the site answers, until `stop` is called. */
      site?: LocalSite
    }
  | { ok: false; exitCode: number }

/**
 * `devsys run <manifest> --repo <path>`: DevSys without GitHub. Validates the manifest, then
 * generates and commits the task's code onto branch devsys/<id> of a local repository, through
 * a temporary clone, so the repository's own work tree and checked-out branch are never touched.
 */
export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const { out } = opts
  // 1. The manifest, validated exactly as an issue or push would be.
  const text = await readFile(opts.manifestPath, 'utf8')
  const parsed = parseManifest(text, { label: opts.manifestPath, path: opts.manifestPath })
  if (!parsed.ok) {
    printProblems(out, opts.manifestPath, parsed.problems)
    return { ok: false, exitCode: 1 }
  }
  const manifest = parsed.manifest
  out(`✓ ${opts.manifestPath}: manifest '${manifest.id}' is valid (${manifest.stack} stack)`)

  // 2. The repository, its base branch and its repo config (read from that branch).
  const repoPath = resolve(opts.repoPath)
  // simple-git refuses a directory that does not exist, so look before handing it over.
  const git = existsSync(repoPath) ? simpleGit(repoPath) : undefined
  if (!git || !(await git.checkIsRepo().catch(() => false))) {
    out(
      `✗ ${repoPath} is not a git repository: create one with \`git init\` and commit something first`,
    )
    return { ok: false, exitCode: 2 }
  }
  const base = opts.base ?? (await git.revparse(['--abbrev-ref', 'HEAD'])).trim()
  const configText = await git.show([`${base}:.github/devsys.yml`]).catch(() => null)
  const config = parseRepoConfig(configText)
  if (!config.ok) {
    printProblems(out, '.github/devsys.yml', config.problems)
    return { ok: false, exitCode: 1 }
  }
  const branch = `devsys/${manifest.id}`
  const user = {
    name: (await git.getConfig('user.name')).value ?? 'DevSys user',
    email: (await git.getConfig('user.email')).value ?? 'devsys-user@localhost',
  }

  // 3. Generate, commit and push the branch back into the repository.
  const kind = manifest.generator ?? config.config.generator.kind
  const workspaces = createGitWorkspaces({ cacheDir: opts.cacheDir, log: opts.log })
  const repo: GitRepo = {
    fullName: `local/${basename(repoPath).replace(/[^A-Za-z0-9_.-]/g, '-')}`,
    cloneUrl: repoPath,
    defaultBranch: base,
  }
  try {
    const generation = await runGeneration({
      git: workspaces,
      repo,
      branch,
      auth: undefined,
      generator: createGenerator(
        kind,
        config.config.generator,
        opts.sandbox === undefined ? {} : { sandbox: opts.sandbox },
      ),
      manifest,
      spec: buildTaskSpec(manifest, { kind: 'api', repo: null, requester: user.name }),
      feedback: opts.feedback,
      identity: { name: 'DevSys', email: 'devsys@localhost', coAuthors: [user] },
      message: opts.feedback ? `Revise ${manifest.id}` : `Generate ${manifest.id}`,
      signal: AbortSignal.timeout(24 * 3600 * 1000),
      log: opts.log,
    })
    out(`✓ generated with the ${kind} generator: ${generation.summary}`)
    if (generation.committed) {
      out(
        `✓ committed ${generation.sha.slice(0, 12)} on ${branch} (from ${base}), ${generation.files.length} files:`,
      )
      for (const file of generation.files) out(`    ${file}`)
    } else {
      out(`✓ nothing to change: ${branch} stays at ${generation.sha.slice(0, 12)}`)
    }
    out(`→ look at it with: git -C ${repoPath} log --stat ${branch}`)
    const result = {
      ok: true as const,
      branch,
      sha: generation.sha,
      committed: generation.committed,
      files: generation.files,
    }
    // 4. The task's tests, on the branch just committed, in the chosen runner.
    const testsPassed =
      opts.runner === undefined
        ? undefined
        : await runLocalTests({ ...opts, runner: opts.runner }, workspaces, repo, branch, manifest)
    const tested = testsPassed === undefined ? result : { ...result, testsPassed }
    if (opts.deployDir === undefined) return tested
    if (testsPassed === false) {
      out('✗ not deployed: the tests failed')
      return tested
    }
    // 5. A release of the commit, switched live and verified, served until the caller stops it.
    const site = await deployLocal(
      opts,
      opts.deployDir,
      workspaces,
      repo,
      branch,
      generation.sha,
      manifest,
    )
    return { ...tested, site }
  } catch (error) {
    if (error instanceof DeployError || error instanceof PhpMissingError) {
      out(`✗ not deployed: ${error.message}`)
      return { ok: false, exitCode: 1 }
    }
    if (error instanceof GenerateError || error instanceof GitError) {
      out(`✗ ${error.message}`)
      out('  nothing was committed')
      return { ok: false, exitCode: 1 }
    }
    throw error
  }
}

/** A deployed site on this machine. */
export interface LocalSite {
  url: string
  /** Whether every acceptance check of the manifest passed against it. */
  verified: boolean
  stop(): Promise<void>
}

async function deployLocal(
  opts: LocalRunOptions,
  root: string,
  workspaces: GitWorkspaces,
  repo: GitRepo,
  branch: string,
  sha: string,
  manifest: Manifest,
): Promise<LocalSite> {
  const { out } = opts
  const target = createLocalTarget({ root })
  const signal = AbortSignal.timeout(3600 * 1000)
  const releaseId = await withRelease(
    workspaces,
    { repo, branch, sha, auth: undefined, signal },
    async (release) => {
      const upload = await target.upload(release, { signal, log: opts.log })
      await target.activate(release.id, signal)
      out(
        upload.alreadyThere
          ? `✓ release ${release.id.slice(0, 12)} was already in ${root}; switched to it`
          : `✓ deployed release ${release.id.slice(0, 12)} to ${root} (${upload.sent} files copied, ${upload.reused} reused)`,
      )
      return release.id
    },
  )
  await target.prune(5, signal)
  const server = await servePhp(root, opts.sandbox === undefined ? {} : { sandbox: opts.sandbox })
  // The php -S just started is this run's own site: the only loopback origin checks may reach.
  const reach = { trustedOrigins: [server.url], allowed: EMPTY_ALLOW_LIST }
  const result = await runAcceptance(server.url, manifest.acceptance, { signal, reach })
  for (const check of result.checks) {
    out(
      `  ${check.ok ? '✓' : '✗'} ${check.id}: ${check.method} ${check.path} → ${check.status ?? 'no answer'}${check.ok ? '' : ` (${check.problems.join('; ')})`}`,
    )
  }
  out(
    `${result.ok ? '✓' : '✗'} acceptance: ${result.checks.filter((c) => c.ok).length} of ${result.checks.length} checks passed against release ${releaseId.slice(0, 12)}`,
  )
  out(`→ live at ${server.url}`)
  return { url: server.url, verified: result.ok, stop: () => server.stop() }
}

async function runLocalTests(
  opts: LocalRunOptions & { runner: Runner },
  workspaces: GitWorkspaces,
  repo: GitRepo,
  branch: string,
  manifest: Manifest,
): Promise<boolean> {
  const { out } = opts
  out(`… running \`${manifest.tests.command.join(' ')}\` with the ${opts.runner.kind} runner`)
  const result = await workspaces.withWorkspace(repo, branch, undefined, (ws) =>
    opts.runner.run({
      workspace: ws.dir,
      command: manifest.tests.command,
      junitPath: manifest.tests.junit,
      timeoutMs: manifest.tests.timeoutSeconds * 1000,
      maxOutputBytes: 1024 * 1024,
      maxReportBytes: 200 * 1024 * 1024,
      signal: AbortSignal.timeout(manifest.tests.timeoutSeconds * 1000 + 60_000),
      log: opts.log,
    }),
  )
  if (result.timedOut) {
    out(`✗ the tests did not finish within ${manifest.tests.timeoutSeconds} s`)
    return false
  }
  if (result.report.kind !== 'found') {
    out(`✗ no JUnit report at ${manifest.tests.junit} (exit code ${result.exitCode ?? 'none'})`)
    out(result.stderr.text.slice(-2000))
    return false
  }
  const parsed = await parseJUnitReport(result.report.xml, { workspace: result.workdir })
  if (!parsed.ok) {
    out(`✗ the JUnit report is unusable: ${parsed.error.message}`)
    return false
  }
  const r = parsed.report
  for (const c of r.cases.filter((c) => c.status === 'failed' || c.status === 'errored')) {
    out(
      `  ✗ ${c.suite} › ${c.name}${c.file ? ` (${c.file}${c.line ? `:${c.line}` : ''})` : ''}: ${c.message ?? c.status}`,
    )
  }
  const passed = r.failed + r.errored === 0 && r.tests > 0 && result.exitCode === 0
  out(
    `${passed ? '✓' : '✗'} tests: ${r.passed} passed, ${r.failed} failed, ${r.errored} errored, ${r.skipped} skipped (${(r.timeMs / 1000).toFixed(1)} s)`,
  )
  return passed
}
