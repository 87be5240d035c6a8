import { lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { TASK_SPEC_PATH } from '../generate/record-task.js'
import { parseTaskManifest } from '../intake/task-manifest.js'
import type { AcceptanceCheck } from '../manifest/types.js'
import type { Store } from '../store/store.js'

/** A task record larger than this is not DevSys's: read no further. */
const MAX_TASK_RECORD_BYTES = 1024 * 1024

/** The checks a tree is verified with, and the task they come from (null: none in the tree). */
export interface TreeChecks {
  taskId: string | null
  checks: AcceptanceCheck[]
}

/**
 * The acceptance checks of the task whose record (`.devsys/task.yml`, committed with the task's
 * code) is in the deployed tree. A push that is no task's merge (a person's revert, a hand
 * edit) is verified against what it deploys: when it removed a task's code it removed that
 * record too, so the removed task's checks are not run against a site that no longer has it.
 * The checks come from the stored task of this repository, never from the file's own text.
 */
export async function checksInTree(
  deps: { store: Pick<Store, 'getTask'>; maxManifestBytes: number },
  repo: string,
  dir: string,
): Promise<TreeChecks> {
  const taskId = await readTaskId(dir)
  if (taskId === null) return { taskId: null, checks: [] }
  const task = await deps.store.getTask({ repo, id: taskId })
  if (task === undefined) return { taskId: null, checks: [] }
  const parsed = parseTaskManifest(task, deps.maxManifestBytes)
  return { taskId, checks: parsed.ok ? parsed.manifest.acceptance : [] }
}

/** The task id in the tree's task record, or null when there is none (or it is not one). */
async function readTaskId(dir: string): Promise<string | null> {
  // lstat each step: a symlinked folder or file in the tree must not lead the read elsewhere.
  const [folder, file] = TASK_SPEC_PATH.split('/')
  if (folder === undefined || file === undefined) return null
  const folderStat = await lstat(join(dir, folder)).catch(() => null)
  if (!folderStat?.isDirectory()) return null
  const path = join(dir, folder, file)
  const stat = await lstat(path).catch(() => null)
  if (!stat?.isFile() || stat.size > MAX_TASK_RECORD_BYTES) return null
  let record: unknown
  try {
    record = parse(await readFile(path, 'utf8'))
  } catch {
    return null
  }
  const id = (record as { metadata?: { id?: unknown } } | null)?.metadata?.id
  return typeof id === 'string' && id !== '' ? id : null
}
