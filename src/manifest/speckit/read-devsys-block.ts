import { compileSchemaFrom, readSchema } from '../compile-schema.js'
import { type LoadedDocument, loadDocument } from '../load-document.js'
import type { ManifestOrigin, ManifestProblem } from '../types.js'
import { validateDocument } from '../validate-document.js'
import { applyStackDefaults } from '../apply-stack-defaults.js'
import type { SpecBlock, SpecPosition } from './types.js'

/** The manifest properties a spec's ```devsys block may set; the spec itself gives the rest. */
const BLOCK_PROPERTIES = [
  'id',
  'description',
  'stack',
  'owner',
  'generator',
  'acceptance',
  'tests',
  'deploy',
  'data',
] as const

/** What a ```devsys block adds to a spec: the manifest's fields that spec-kit has no place for. */
export type DevsysBlock = Record<string, unknown> & { stack: 'php' | 'static' }

export type DevsysBlockResult =
  /** locate: where the block wrote a value (spec lines). */
  | { ok: true; block: DevsysBlock; locate: LoadedDocument['locate']; problems: ManifestProblem[] }
  | { ok: false; problems: ManifestProblem[] }

/** An example block, shown when a spec has none. */
export const BLOCK_EXAMPLE = '```devsys\nstack: php\ndeploy:\n  target: php\n```'

/**
 * The project schema cut down to the block's properties, `stack` required (`id` defaults from the
 * spec's folder, `stories` and the title come from the spec).
 */
const getValidator = compileSchemaFrom(() => {
  const project = readSchema('project.schema.json') as {
    properties: Record<string, unknown>
  } & Record<string, unknown>
  const properties = Object.fromEntries(
    BLOCK_PROPERTIES.map((name) => [name, project.properties[name]]),
  )
  return {
    ...project,
    $id: 'urn:devsys:schema:project:v1:devsys-block',
    title: "A spec's ```devsys block",
    required: ['stack'],
    properties,
  }
})

/**
 * Reads and validates the spec's one ```devsys block (YAML) against the project schema's matching
 * parts; positions are the spec's lines. No block, or more than one, is a problem that says what
 * to write.
 */
export function readDevsysBlock(
  blocks: readonly SpecBlock[],
  origin: ManifestOrigin,
  anchor: SpecPosition,
): DevsysBlockResult {
  const [block, second] = blocks
  if (block === undefined) {
    return {
      ok: false,
      problems: [
        {
          pointer: 'devsys',
          line: anchor.line,
          column: anchor.column,
          endLine: anchor.line,
          message: 'the spec has no ```devsys block saying how to build, test and deploy it',
          hint: `add a fenced block after the title, e.g. ${BLOCK_EXAMPLE.replaceAll('\n', ' ⏎ ')} (stack: php or static)`,
        },
      ],
    }
  }
  if (second !== undefined) {
    return {
      ok: false,
      problems: [
        {
          pointer: 'devsys',
          line: second.line,
          column: second.column,
          endLine: second.line,
          message: `the spec has a second \`\`\`devsys block (the first is at line ${block.line})`,
          hint: 'keep one ```devsys block: merge the two',
        },
      ],
    }
  }
  const loaded = loadDocument(
    block.text,
    { ...origin, format: 'yaml', lineOffset: (origin.lineOffset ?? 0) + block.lineOffset },
    { maxBytes: Number.POSITIVE_INFINITY, what: '```devsys block' },
  )
  if (!loaded.ok) return loaded
  const value = loaded.doc.value as Record<string, unknown>
  applyStackDefaults(value)
  const problems = [...loaded.problems, ...validateDocument(loaded.doc, getValidator())]
  if (problems.length > 0) return { ok: false, problems }
  return { ok: true, block: value as DevsysBlock, locate: loaded.doc.locate, problems: [] }
}
