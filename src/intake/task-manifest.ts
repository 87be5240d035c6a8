import { parseManifest } from '../manifest/parse-manifest.js'
import type { ParseResult } from '../manifest/types.js'
import type { Task } from '../store/store.js'

/**
 * A stored task's manifest, validated again before jobs use it: the store may hold a manifest
 * accepted by an older DevSys whose schema has changed since.
 */
export function parseTaskManifest(
  task: Pick<Task, 'id' | 'manifestText'>,
  maxBytes: number,
): ParseResult {
  return parseManifest(task.manifestText, { label: `task ${task.id}` }, { maxBytes })
}
