import { RE2JS } from 're2js'

/** A compiled `bodyMatches` pattern, or why it cannot be one. */
export type CompileBodyPatternResult = { ok: true; pattern: RE2JS } | { ok: false; reason: string }

/**
 * Compiles an acceptance check's `bodyMatches` with RE2 (re2js, pure JavaScript), whose matching
 * time grows linearly with the body: a repository's pattern such as `(a+)+$` cannot pin DevSys's
 * CPU the way a backtracking RegExp would. RE2 has no backreferences or lookaround; such
 * patterns are refused with RE2's reason, when the manifest is validated.
 */
export function compileBodyPattern(source: string): CompileBodyPatternResult {
  try {
    return { ok: true, pattern: RE2JS.compile(source) }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return { ok: false, reason: reason.replace(/^error parsing regexp: /, '') }
  }
}
