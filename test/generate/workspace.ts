import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { simpleGit } from 'simple-git'
import type { GenerateRequest } from '../../src/generate/types.js'
import { buildTaskSpec } from '../../src/manifest/build-task-spec.js'
import { parseManifest } from '../../src/manifest/parse-manifest.js'
import type { Manifest } from '../../src/manifest/types.js'

/** A real git work tree on `main` with one commit, alone in its own temporary parent folder. */
export interface TestWorkspace {
  /** The work tree. */
  dir: string
  /** Its parent folder (only the work tree is in it). */
  parent: string
  cleanup(): Promise<void>
}

export async function createWorkspace(): Promise<TestWorkspace> {
  const parent = await mkdtemp(join(tmpdir(), 'devsys-gen-'))
  const dir = join(parent, 'repo')
  const git = simpleGit()
  await git.raw(['init', '-q', '-b', 'main', dir])
  const repo = simpleGit({ baseDir: dir })
  await repo.addConfig('user.name', 'Test')
  await repo.addConfig('user.email', 'test@example.com')
  await repo.addConfig('commit.gpgsign', 'false')
  await writeFile(join(dir, 'README.md'), '# A repository\n')
  await repo.add(['README.md'])
  await repo.commit('initial commit')
  return { dir, parent, cleanup: () => rm(parent, { recursive: true, force: true }) }
}

/** Stages and commits everything, as DevSys does after generating. */
export async function commitAll(dir: string, message: string): Promise<void> {
  const repo = simpleGit({ baseDir: dir })
  await repo.add(['-A'])
  await repo.commit(message)
}

/** Parses a manifest file (specs/ or test fixtures), optionally changed first; throws if invalid. */
export async function loadManifest(
  path: string,
  change?: (value: Record<string, unknown>) => void,
): Promise<Manifest> {
  const text = await readFile(new URL(`../../${path}`, import.meta.url), 'utf8')
  const value = (
    path.endsWith('.json') ? JSON.parse(text) : (await import('yaml')).parse(text)
  ) as Record<string, unknown>
  change?.(value)
  const parsed = parseManifest(JSON.stringify(value), { label: path, format: 'json' })
  if (!parsed.ok) throw new Error(`invalid manifest ${path}: ${JSON.stringify(parsed.problems)}`)
  return parsed.manifest
}

/** A generate request for the manifest, with its real task spec and a silent logger. */
export function requestFor(
  dir: string,
  manifest: Manifest,
  extra: Partial<Pick<GenerateRequest, 'feedback' | 'signal'>> = {},
): GenerateRequest {
  return {
    workspace: dir,
    manifest,
    spec: buildTaskSpec(manifest, { kind: 'api', repo: 'octo/blog', requester: 'octocat' }),
    signal: extra.signal ?? new AbortController().signal,
    log: pino({ level: 'silent' }),
    ...(extra.feedback === undefined ? {} : { feedback: extra.feedback }),
  }
}

export const DEFAULT_CONFIG = {
  kind: 'scaffold' as const,
  maxIterations: 1,
  budgetSeconds: 3600,
  timeoutSeconds: 60,
  forbiddenPaths: ['.github/'],
}
