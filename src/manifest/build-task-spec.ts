import { stringify } from 'yaml'
import type { TaskSource } from '../store/store.js'
import { readSchema } from './compile-schema.js'
import type { Manifest } from './types.js'

export const TASK_SPEC_API_VERSION = 'devsys/v1'

/** Where the task came from; a store TaskSource fits, plus an optional creation time. */
export type TaskSpecMeta = Pick<TaskSource, 'kind' | 'repo' | 'requester'> &
  Partial<Pick<TaskSource, 'issue' | 'commit' | 'ref' | 'path' | 'url'>> & {
    /** ISO timestamp; left out of the spec when absent, so re-reading a manifest changes nothing. */
    createdAt?: string
  }

/** A Spec Kit spec's plan.md and tasks.md, kept in the task spec for the coding agent. */
export interface SpecContext {
  plan?: string
  tasks?: string
}

type Schema = { properties?: Record<string, Schema>; items?: Schema; $ref?: string }

let projectSchema: (Schema & { $defs?: Record<string, Schema> }) | undefined

/**
 * Renders the task spec handed to generators and runners: YAML with apiVersion, kind, metadata
 * and the validated manifest (defaults applied) under `spec`. Equal input gives byte-equal output:
 * manifest properties follow the schema's order and free-form `data` is sorted by key. A Spec
 * Kit spec's plan.md and tasks.md, when given, follow under `context`.
 */
export function buildTaskSpec(
  manifest: Manifest,
  meta: TaskSpecMeta,
  context: SpecContext = {},
): string {
  const metadata = {
    id: manifest.id,
    title: manifest.title,
    source: meta.kind,
    repo: meta.repo,
    ...(meta.issue === undefined ? {} : { issue: meta.issue }),
    ...(meta.path === undefined ? {} : { path: meta.path }),
    ...(meta.commit === undefined ? {} : { commit: meta.commit }),
    ...(meta.ref === undefined ? {} : { ref: meta.ref }),
    ...(meta.url === undefined ? {} : { url: meta.url }),
    requester: meta.requester,
    ...(meta.createdAt === undefined ? {} : { createdAt: meta.createdAt }),
  }
  projectSchema ??= readSchema('project.schema.json') as Schema & { $defs?: Record<string, Schema> }
  const spec = canonicalize(manifest, projectSchema, projectSchema.$defs ?? {})
  const extra = {
    ...(context.plan === undefined ? {} : { plan: context.plan }),
    ...(context.tasks === undefined ? {} : { tasks: context.tasks }),
  }
  const document = {
    apiVersion: TASK_SPEC_API_VERSION,
    kind: 'Task',
    metadata,
    spec,
    ...(Object.keys(extra).length === 0 ? {} : { context: extra }),
  }
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false })
}

/** Copies value with keys in schema order (unknown keys after, sorted), recursively. */
function canonicalize(
  value: unknown,
  schema: Schema | undefined,
  defs: Record<string, Schema>,
): unknown {
  const resolved = schema?.$ref ? defs[schema.$ref.replace('#/$defs/', '')] : schema
  if (Array.isArray(value)) return value.map((item) => canonicalize(item, resolved?.items, defs))
  if (typeof value !== 'object' || value === null) return value
  const record = value as Record<string, unknown>
  const known = Object.keys(resolved?.properties ?? {}).filter((k) => k in record)
  const rest = Object.keys(record)
    .filter((k) => !known.includes(k))
    .sort()
  const out: Record<string, unknown> = {}
  for (const key of [...known, ...rest]) {
    if (record[key] === undefined) continue
    // defineProperty, not assignment: a `__proto__` key in free-form data must stay a plain key.
    Object.defineProperty(out, key, {
      value: canonicalize(record[key], resolved?.properties?.[key], defs),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}
