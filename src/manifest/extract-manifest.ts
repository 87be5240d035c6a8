import { posix } from 'node:path'
import picomatch from 'picomatch'

/** Where an issue body's manifest is. */
export type ExtractedManifest =
  /** A fenced ```json / ```yaml block; lineOffset = body lines before the block's first line. */
  | { kind: 'inline'; text: string; format: 'json' | 'yaml'; lineOffset: number }
  /**
   * A repository file named on a line of its own: `manifest: specs/blog.json`, or a Spec Kit spec
   * `spec: specs/001-blog/spec.md`.
   */
  | { kind: 'file'; path: string }
  /** The body is a Spec Kit spec itself (a `# Feature Specification:` line outside code). */
  | { kind: 'spec'; text: string }
  | { kind: 'none' }
  /** Something that looks like a manifest reference but cannot be used; message says why. */
  | { kind: 'invalid'; message: string }

const FORMATS: Record<string, 'json' | 'yaml'> = { json: 'json', yaml: 'yaml', yml: 'yaml' }
const OPENING_FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/
const FILE_REFERENCE = /^ {0,3}(manifest|spec)\s*:\s*`?([^`\s]+)`?\s*$/i
const SPEC_TITLE = /^# Feature Specification:/i

interface Line {
  text: string
  /** Offset of the line's first character in the body. */
  start: number
}

/**
 * Finds the manifest in an issue body (CommonMark fences, ``` or ~~~):
 * - the first fenced block whose info string starts with json, yaml or yml is an inline manifest,
 *   its text taken verbatim (indentation kept) so positions match the body;
 * - otherwise a line outside code blocks reading `manifest: <path>` (case-insensitive, the path
 *   optionally in backticks) names a repository file; the path must be relative, without `..`,
 *   backslashes or control characters, and end in .json, .yml or .yaml;
 * - a line `spec: <path>` names a Spec Kit spec the same way (the path ends in .md);
 * - a body with a `# Feature Specification:` line outside code blocks is a Spec Kit spec itself;
 * - a body with more than one of these is ambiguous and reported as invalid.
 */
export function extractManifestFromIssue(body: string | null): ExtractedManifest {
  if (body === null || body.trim() === '') return { kind: 'none' }
  const lines = splitLines(body)
  let inline: Extract<ExtractedManifest, { kind: 'inline' }> | undefined
  let reference: { path: string; line: number; spec: boolean } | undefined
  let inlineLine = 0
  let specLine = 0

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Line
    const open = OPENING_FENCE.exec(line.text)
    const fence = open?.[2]
    const info = (open?.[3] ?? '').trim()
    if (fence !== undefined && !(fence.startsWith('`') && info.includes('`'))) {
      const close = findClosingFence(lines, i + 1, fence)
      const language = info.split(/\s+/)[0]?.toLowerCase() ?? ''
      const format = FORMATS[language]
      if (format && inline === undefined) {
        const start = lines[i + 1]?.start ?? body.length
        const end = close === undefined ? body.length : (lines[close]?.start ?? body.length)
        inline = { kind: 'inline', text: body.slice(start, end), format, lineOffset: i + 1 }
        inlineLine = i + 1
      }
      i = close ?? lines.length
      continue
    }
    if (SPEC_TITLE.test(line.text) && specLine === 0) specLine = i + 1
    const named = FILE_REFERENCE.exec(line.text)
    if (named?.[2] !== undefined && reference === undefined) {
      reference = { path: named[2], line: i + 1, spec: named[1]?.toLowerCase() === 'spec' }
    }
  }
  if (specLine > 0 && (inline || reference)) {
    const other = inline
      ? `a manifest block (line ${inlineLine})`
      : `a file reference (line ${reference?.line})`
    return {
      kind: 'invalid',
      message: `The issue body is a Spec Kit spec (line ${specLine}) and also has ${other}; keep only one.`,
    }
  }
  if (specLine > 0) return { kind: 'spec', text: body }

  if (inline && reference) {
    return {
      kind: 'invalid',
      message: `The issue body has both a manifest block (line ${inlineLine}) and a manifest file reference (line ${reference.line}); keep only one.`,
    }
  }
  if (inline) return inline
  if (reference) return checkReference(reference.path, reference.spec)
  return { kind: 'none' }
}

/** True when path is a safe relative path matching one of the globs (picomatch syntax). */
export function matchesManifestGlobs(path: string, globs: readonly string[]): boolean {
  if (unsafePathReason(path) !== undefined || globs.length === 0) return false
  return picomatch([...globs])(path)
}

function checkReference(raw: string, spec: boolean): ExtractedManifest {
  const reason = unsafePathReason(raw)
  const example = spec ? 'spec: specs/001-blog/spec.md' : 'manifest: specs/blog.json'
  if (reason !== undefined) {
    return {
      kind: 'invalid',
      message: `The ${spec ? 'spec' : 'manifest'} reference \`${printable(raw)}\` ${reason}. Name a file by its path from the repository root, e.g. \`${example}\`.`,
    }
  }
  const path = posix.normalize(raw).replace(/^\.\//, '')
  if (spec) {
    return /\.md$/i.test(path)
      ? { kind: 'file', path }
      : {
          kind: 'invalid',
          message: `The spec file \`${path}\` must be a Spec Kit spec.md (end in .md).`,
        }
  }
  if (!/\.(json|ya?ml)$/i.test(path)) {
    return {
      kind: 'invalid',
      message: `The manifest file \`${path}\` must end in .json, .yml or .yaml.`,
    }
  }
  return { kind: 'file', path }
}

/** Why a repository path is unsafe to read, or undefined when it is fine. */
function unsafePathReason(path: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'contains control characters'
  if (path.includes('\\')) return 'contains a backslash; use forward slashes'
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) return 'is a URL or drive path, not a repository path'
  if (path.startsWith('/') || path.startsWith('~')) return 'is absolute'
  if (path.includes('..')) return "contains '..'"
  return undefined
}

function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters must not be echoed
  return text.replaceAll(/[\u0000-\u001f\u007f`]/g, '?').slice(0, 200)
}

/** Index of the line closing a fence opened with `fence`, or undefined when it never closes. */
function findClosingFence(lines: readonly Line[], from: number, fence: string): number | undefined {
  const char = fence.charAt(0)
  for (let j = from; j < lines.length; j++) {
    const match = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[j]?.text ?? '')
    const candidate = match?.[1]
    if (candidate?.startsWith(char) && candidate.length >= fence.length) return j
  }
  return undefined
}

/** Lines with their offsets; a line's text excludes its \n or \r\n. */
function splitLines(body: string): Line[] {
  const lines: Line[] = []
  let start = 0
  while (start <= body.length) {
    const newline = body.indexOf('\n', start)
    const end = newline === -1 ? body.length : newline
    lines.push({ text: body.slice(start, end).replace(/\r$/, ''), start })
    if (newline === -1) break
    start = newline + 1
  }
  return lines
}
