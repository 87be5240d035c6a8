import { readFileSync } from 'node:fs'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { compileBodyPattern } from '../verify/compile-body-pattern.js'

export interface CompileOptions {
  /** Convert strings to the schema's types (for environment variables only). */
  coerceTypes?: boolean
}

/** The JSON Schema file under specs/, parsed. */
export function readSchema(fileName: string): Record<string, unknown> {
  const url = new URL(`../../specs/${fileName}`, import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>
}

/**
 * Returns a getter that compiles specs/<fileName> on first use and then reuses the validator.
 * Validators fill in defaults (useDefaults) and report every error (allErrors); verbose keeps
 * the failing schema on each error so messages can quote descriptions and hints.
 */
export function compileSchema(fileName: string, opts: CompileOptions = {}): () => ValidateFunction {
  return compileSchemaFrom(() => readSchema(fileName), opts)
}

/** Like compileSchema, for a schema built in code (e.g. a part of a file's schema). */
export function compileSchemaFrom(
  build: () => Record<string, unknown>,
  opts: CompileOptions = {},
): () => ValidateFunction {
  let validate: ValidateFunction | undefined
  return (): ValidateFunction => {
    if (validate) return validate
    const ajv = new Ajv2020({
      allErrors: true,
      useDefaults: true,
      verbose: true,
      strict: true,
      // `required` inside if/then names properties declared next to it, which this check misses.
      strictRequired: false,
      coerceTypes: opts.coerceTypes ?? false,
    })
    addFormats.default(ajv)
    // Patterns DevSys runs itself (acceptance bodyMatches) must compile with RE2: linear time.
    ajv.addFormat('re2', { type: 'string', validate: (text) => compileBodyPattern(text).ok })
    // Our annotation keyword: how to fix a value that fails the schema's pattern or format.
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' })
    const compiled = ajv.compile(build())
    validate = compiled
    return compiled
  }
}
