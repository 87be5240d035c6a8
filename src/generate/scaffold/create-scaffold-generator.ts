import { lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FEEDBACK_PATH, GENERATED_LIST_PATH } from '../bookkeeping-paths.js'
import { checkChanges } from '../check-changes.js'
import { recordTask } from '../record-task.js'
import type { GenerateRequest, GenerateResult, Generator } from '../types.js'
import { removeFileInside, writeFileInside } from '../write-file-inside.js'
import { buildStackFiles } from './build-stack-files.js'

export { GENERATED_LIST_PATH }

export interface ScaffoldOptions {
  forbiddenPaths: readonly string[]
  maxOutputBytes: number
}

/**
 * The built-in, offline generator: renders the stack's templates from the manifest alone, so the
 * same manifest always gives byte-identical files. It overwrites the files it generates (a PR
 * shows any difference to hand edits) and removes files it generated before but no longer does.
 */
export function createScaffoldGenerator(opts: ScaffoldOptions): Generator {
  return { kind: 'scaffold', generate: (request) => generateScaffold(request, opts) }
}

async function generateScaffold(
  request: GenerateRequest,
  opts: ScaffoldOptions,
): Promise<GenerateResult> {
  const { workspace, manifest, signal } = request
  // 1. Render everything in memory first: a bad manifest stops before any file is touched.
  const files = await buildStackFiles(manifest)
  signal.throwIfAborted()

  // 2. Drop files an earlier run generated that this manifest no longer asks for.
  for (const path of await readGeneratedList(workspace)) {
    if (!files.has(path)) await removeFileInside(workspace, path)
  }

  // 3. Write the files, the list of them, and the record of the task and its feedback.
  for (const [path, content] of files) await writeFileInside(workspace, path, content)
  const list = { generator: 'scaffold', stack: manifest.stack, files: [...files.keys()].sort() }
  await writeFileInside(workspace, GENERATED_LIST_PATH, `${JSON.stringify(list, null, 2)}\n`)
  await recordTask(workspace, request.spec, request.feedback)
  signal.throwIfAborted()

  // 4. The same checks as for any generator, then report.
  const changed = await checkChanges(workspace, opts)
  request.log.info(
    { generator: 'scaffold', stack: manifest.stack, files: changed.length },
    'scaffold generated',
  )
  return { files: changed, summary: summarize(request, changed) }
}

/** Paths from the previous run's list; a missing or unreadable list means none. */
async function readGeneratedList(workspace: string): Promise<string[]> {
  const path = join(workspace, GENERATED_LIST_PATH)
  // Only a regular file: a symlink here could make DevSys read (and delete) files elsewhere.
  const stat = await lstat(path).catch(() => null)
  if (!stat?.isFile()) return []
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as { files?: unknown }
    if (!Array.isArray(value.files)) return []
    return value.files.filter(
      (file): file is string =>
        typeof file === 'string' && file !== '' && !file.startsWith('/') && !file.includes('..'),
    )
  } catch {
    return []
  }
}

function summarize(request: GenerateRequest, changed: string[]): string {
  const { manifest } = request
  const what =
    manifest.stack === 'php'
      ? `a PHP blog for "${manifest.title}"`
      : `a static site for "${manifest.title}"`
  const files =
    changed.length === 0
      ? 'no files changed, the repository already matched the manifest'
      : `${changed.length} file${changed.length === 1 ? '' : 's'} changed`
  // The scaffold follows the manifest only; saying so keeps people from expecting more.
  const feedback =
    request.feedback === undefined || request.feedback.trim() === ''
      ? ''
      : `; the feedback was recorded in ${FEEDBACK_PATH} but the scaffold generator cannot act on it: change the manifest, or configure a command generator`
  return `Scaffolded ${what} (${files})${feedback}.`
}
