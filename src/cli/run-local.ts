import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import type { Logger } from 'pino'
import { simpleGit } from 'simple-git'
import { parseRepoConfig } from '../config/load-repo-config.js'
import { createGenerator } from '../generate/create-generator.js'
import { runGeneration } from '../generate/run-generation.js'
import { GenerateError } from '../generate/types.js'
import { createGitWorkspaces } from '../git/create-git-workspaces.js'
import { GitError } from '../git/git-error.js'
import { buildTaskSpec } from '../manifest/build-task-spec.js'
import { parseManifest } from '../manifest/parse-manifest.js'
import type { ManifestProblem } from '../manifest/types.js'

export interface LocalRunOptions {
  manifestPath: string
  repoPath: string
  /** The branch generated code starts from (default: the repository's current branch). */
  base?: string | undefined
  feedback?: string | undefined
  /** Where git mirrors are cached (default: DATA_DIR/git). */
  cacheDir: string
  log: Logger
  out: (line: string) => void
}

export type LocalRunResult =
  | { ok: true; branch: string; sha: string; committed: boolean; files: string[] }
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
  try {
    const generation = await runGeneration({
      git: createGitWorkspaces({ cacheDir: opts.cacheDir, log: opts.log }),
      repo: {
        fullName: `local/${basename(repoPath).replace(/[^A-Za-z0-9_.-]/g, '-')}`,
        cloneUrl: repoPath,
        defaultBranch: base,
      },
      branch,
      auth: undefined,
      generator: createGenerator(kind, config.config.generator),
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
    return {
      ok: true,
      branch,
      sha: generation.sha,
      committed: generation.committed,
      files: generation.files,
    }
  } catch (error) {
    if (error instanceof GenerateError || error instanceof GitError) {
      out(`✗ ${error.message}`)
      out('  nothing was committed')
      return { ok: false, exitCode: 1 }
    }
    throw error
  }
}

function printProblems(out: (line: string) => void, file: string, problems: ManifestProblem[]) {
  out(`✗ ${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:`)
  for (const p of problems) {
    out(`  ${file}:${p.line}:${p.column} ${p.pointer || '/'}: ${p.message}`)
    out(`      how to fix: ${p.hint}`)
  }
}
