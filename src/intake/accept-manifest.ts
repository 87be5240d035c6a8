import { buildTaskSpec, type SpecContext } from '../manifest/build-task-spec.js'
import { locatePointer } from '../manifest/locate-pointer.js'
import { parseManifest } from '../manifest/parse-manifest.js'
import type { ManifestOrigin, ManifestProblem } from '../manifest/types.js'
import type { Task, TaskSource, TaskStore } from '../store/store.js'

export type Acceptance =
  | { kind: 'invalid'; problems: ManifestProblem[] }
  /** The id belongs to a task from another source; nothing was written. */
  | { kind: 'conflict'; existing: Task; problems: ManifestProblem[] }
  | { kind: 'saved'; result: 'created' | 'updated' | 'unchanged'; task: Task }

/**
 * The one path from manifest text to a stored task, shared by issues, pushes and the API:
 * parse and validate, normalize into a task spec, then store it unless the id is taken by
 * another source. An invalid manifest creates nothing.
 */
export async function acceptManifest(
  store: Pick<TaskStore, 'saveTask'>,
  input: {
    text: string
    origin: ManifestOrigin
    source: TaskSource
    maxBytes: number
    /** A Spec Kit spec's plan.md and tasks.md, kept in the task spec for the coding agent. */
    context?: SpecContext
  },
): Promise<Acceptance> {
  const parsed = parseManifest(input.text, input.origin, { maxBytes: input.maxBytes })
  if (!parsed.ok) return { kind: 'invalid', problems: parsed.problems }
  const { manifest } = parsed
  const spec = buildTaskSpec(manifest, input.source, input.context)
  const saved = await store.saveTask({
    id: manifest.id,
    title: manifest.title,
    source: input.source,
    manifestText: input.text,
    spec,
  })
  if (saved.kind === 'conflict') {
    const where = parsed.idAt ?? locatePointer(input.text, input.origin, '/id')
    const problem: ManifestProblem = {
      pointer: '/id',
      ...where,
      message: `task id '${manifest.id}' is already used by ${describeSource(saved.existing.source)}`,
      hint: 'choose another id, or change the manifest where that task was created',
    }
    return { kind: 'conflict', existing: saved.existing, problems: [problem] }
  }
  return { kind: 'saved', result: saved.kind, task: saved.task }
}

/** Names a task's source for people: "issue #3 in octo/blog", "specs/blog.json in octo/blog". */
export function describeSource(source: TaskSource): string {
  const repo = source.repo ?? 'no repository'
  switch (source.kind) {
    case 'issue':
      return `issue #${source.issue ?? '?'} in ${repo}`
    case 'push':
      return `${source.path ?? 'a manifest file'} in ${repo}`
    case 'api':
      return 'the manager API'
  }
}
