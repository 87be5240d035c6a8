import { posix } from 'node:path'
import { readRepoFile } from '../github/read-repo-file.js'
import type { SpecContext } from '../manifest/build-task-spec.js'

type Client = Parameters<typeof readRepoFile>[0]

/** The Spec Kit files read beside a spec.md, as context for the coding agent. */
const CONTEXT_FILES = ['plan.md', 'tasks.md'] as const

/**
 * Reads plan.md and tasks.md from the spec's folder at `ref`, when present; a missing file, a
 * folder in its place or one over maxBytes is left out (the spec alone is a complete task).
 */
export async function readSpecContext(
  github: Client,
  target: { owner: string; repo: string; ref: string; specPath: string; maxBytes: number },
): Promise<SpecContext> {
  const context: SpecContext = {}
  const folder = posix.dirname(target.specPath)
  for (const name of CONTEXT_FILES) {
    const file = await readRepoFile(github, {
      owner: target.owner,
      repo: target.repo,
      path: folder === '.' ? name : `${folder}/${name}`,
      ref: target.ref,
      maxBytes: target.maxBytes,
    })
    if (file.kind === 'found') context[name === 'plan.md' ? 'plan' : 'tasks'] = file.text
  }
  return context
}

/** Whether a repository path names a Spec Kit spec (a Markdown file). */
export function isSpecPath(path: string | undefined): path is string {
  return path !== undefined && /\.md$/i.test(path)
}
