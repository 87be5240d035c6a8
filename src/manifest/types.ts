/** Types shared by manifest loading, validation and normalization. */

import type { SpecKitView } from './speckit/types.js'

/** One problem found in a manifest, pointing at the exact place in the user's text. */
export interface ManifestProblem {
  /**
   * JSON pointer into the manifest (RFC 6901), '' for the whole document; for a Spec Kit spec's
   * own rules, the part of the spec instead (`title`, `User Story 2`, `FR-003`, `spec`, `devsys`).
   */
  pointer: string
  /** 1-based line in the original text (of the file, or of the issue body). */
  line: number
  /** 1-based column in the original text. */
  column: number
  /** 1-based last line of the offending node (equal to line for scalars). */
  endLine: number
  /** What is wrong, in plain words. */
  message: string
  /** How to fix it. */
  hint: string
}

/** Where the manifest text came from, used in messages and annotations. */
export interface ManifestOrigin {
  /** e.g. 'specs/blog.json', 'issue #12 body', 'API request body' */
  label: string
  /** Repository-relative file path when the text is a file (for check-run annotations). */
  path?: string
  /** Line offset to add to positions when the text is embedded (fenced block in an issue body). */
  lineOffset?: number
  /** 'json' | 'yaml'; when absent the format is guessed from path or content. */
  format?: 'json' | 'yaml'
  /**
   * The text is a Spec Kit feature spec (specs/<NNN-feature>/spec.md); when absent, a path ending
   * in .md or (without path and format) a first line `# Feature Specification:` says so.
   */
  speckit?: boolean
}

/** An HTTP acceptance check from the manifest. */
export interface AcceptanceCheck {
  id?: string
  description?: string
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'
  path: string
  status: number
  bodyContains?: string[]
  bodyMatches?: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
}

/**
 * A validated project manifest (the shape of specs/project.schema.json, defaults applied: `tests`
 * from the stack when absent, see DEFAULT_TESTS in apply-stack-defaults.ts).
 */
export interface Manifest {
  /** Safe slug `^[a-z0-9][a-z0-9-]{0,62}$`: usable in branch names and paths as is. */
  id: string
  title: string
  /** '' when the manifest has none. */
  description: string
  stack: 'php' | 'static'
  owner?: string
  /** Always present after parsing (default 'scaffold'). */
  /** Absent: the repo config's generator.kind decides. */
  generator?: 'scaffold' | 'command' | 'agent'
  stories: Array<{
    id?: string
    /** A Spec Kit story's title and priority (P1 most important). */
    title?: string
    priority?: string
    as: string
    want: string
    soThat?: string
  }>
  acceptance: AcceptanceCheck[]
  tests: { command: string[]; junit: string; timeoutSeconds: number }
  deploy: { environment: string; target: 'local' | 'php' | 'ssh' }
  data?: Record<string, unknown>
  /** For a Spec Kit spec: its scenarios (and what each became), requirements and the rest. */
  speckit?: SpecKitView
}

export type ParseResult =
  /** text is the manifest exactly as written (what the store keeps as manifestText). */
  | {
      ok: true
      manifest: Manifest
      text: string
      /** Where the id was written, when the format knows it better than its JSON pointer. */
      idAt?: { line: number; column: number; endLine: number }
    }
  /** Every problem found, sorted by position; never empty. */
  | { ok: false; problems: ManifestProblem[] }
