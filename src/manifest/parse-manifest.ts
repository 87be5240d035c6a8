import { applyStackDefaults } from './apply-stack-defaults.js'
import { compileSchema } from './compile-schema.js'
import { loadDocument } from './load-document.js'
import { isSpecKitSpec, parseSpecKit } from './speckit/parse-spec-kit.js'
import type { Manifest, ManifestOrigin, ParseResult } from './types.js'
import { sortProblems, validateDocument } from './validate-document.js'

/** Default largest manifest, in UTF-8 bytes (MAX_MANIFEST_BYTES overrides it in the app). */
export const DEFAULT_MAX_MANIFEST_BYTES = 1024 * 1024

const getValidator = compileSchema('project.schema.json')

export interface ParseManifestOptions {
  /** Largest accepted text in UTF-8 bytes; default 1 MiB. */
  maxBytes?: number
  /** A Spec Kit spec's id when neither its ```devsys block nor its path gives one. */
  defaultId?: string
}

/**
 * Parses and validates a manifest written as JSON or YAML, or a Spec Kit spec.md (see
 * speckit/parse-spec-kit.ts). On success the manifest has every
 * default filled in; on failure every problem found is returned at once, each positioned in the
 * original text (shifted by origin.lineOffset for a block inside an issue body).
 */
export function parseManifest(
  text: string,
  origin: ManifestOrigin,
  opts: ParseManifestOptions = {},
): ParseResult {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES
  if (isSpecKitSpec(text, origin))
    return parseSpecKit(text, origin, { maxBytes, defaultId: opts.defaultId })
  // 1. Parse, keeping positions; syntax errors stop here.
  const loaded = loadDocument(text, origin, { maxBytes, what: 'manifest' })
  if (!loaded.ok) return loaded

  // 2. Fill per-stack defaults the schema cannot express, then validate (fills the rest).
  const value = loaded.doc.value as Record<string, unknown>
  applyStackDefaults(value)
  const problems = sortProblems([
    ...loaded.problems,
    ...validateDocument(loaded.doc, getValidator()),
  ])
  if (problems.length > 0) return { ok: false, problems }

  // 3. `$schema` is only an editor hint.
  delete value.$schema
  return { ok: true, manifest: value as unknown as Manifest, text }
}
