import { parseManifest } from '../manifest/parse-manifest.js'
import type { ParseResult } from '../manifest/types.js'
import type { Task } from '../store/store.js'

/**
 * A stored task's manifest, validated again before jobs use it: the store may hold a manifest
 * accepted by an older DevSys whose schema has changed since. A Spec Kit spec keeps the id it was
 * accepted with (its folder is not known here).
 */
export function parseTaskManifest(
  task: Pick<Task, 'id' | 'manifestText'>,
  maxBytes: number,
): ParseResult {
  return parseManifest(
    task.manifestText,
    { label: `task ${task.id}` },
    { maxBytes, defaultId: task.id },
  )
}
