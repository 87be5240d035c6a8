import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js'
import { compileBodyPattern } from '../verify/compile-body-pattern.js'
import { parsePointer, toPointer } from './json-pointer.js'
import type { LoadedDocument } from './load-document.js'
import type { ManifestProblem } from './types.js'

// Wrappers whose own error only repeats the errors of their subschemas.
const SKIPPED_KEYWORDS = new Set(['if', 'propertyNames', 'anyOf', 'oneOf', 'allOf'])

type Schema = Record<string, unknown>

/**
 * Validates doc.value in place (the validator fills in defaults) and turns every schema error
 * into a problem positioned in the original text. Problems are sorted by position.
 */
export function validateDocument(
  doc: LoadedDocument,
  validate: ValidateFunction,
): ManifestProblem[] {
  if (validate(doc.value)) return []
  const problems: ManifestProblem[] = []
  const seen = new Set<string>()
  for (const error of validate.errors ?? []) {
    if (SKIPPED_KEYWORDS.has(error.keyword)) continue
    const problem = toProblem(doc, error, validate.schema as Schema)
    const key = `${problem.pointer}\n${problem.message}`
    if (seen.has(key)) continue
    seen.add(key)
    problems.push(problem)
  }
  return sortProblems(problems)
}

/** Orders problems as they appear in the text, then by pointer. */
export function sortProblems(problems: ManifestProblem[]): ManifestProblem[] {
  return problems.sort(
    (a, b) => a.line - b.line || a.column - b.column || a.pointer.localeCompare(b.pointer),
  )
}

function toProblem(doc: LoadedDocument, error: ErrorObject, root: Schema): ManifestProblem {
  const segments = parsePointer(error.instancePath)
  const parent = (error.parentSchema ?? {}) as Schema
  const hintOf = (fallback: string): string =>
    typeof parent['x-hint'] === 'string' ? parent['x-hint'] : fallback
  const at = (path: string[], message: string, hint: string, key = false): ManifestProblem => ({
    pointer: toPointer(path),
    ...doc.locate(path, key),
    message,
    hint,
  })
  const name = describeName(segments)
  const params = error.params as Record<string, unknown>
  const value = describeValue(error.data)

  // propertyNames reports the failing name itself, on the object: point at the key.
  if (typeof error.propertyName === 'string') {
    const path = [...segments, error.propertyName]
    return at(path, `property name '${error.propertyName}' is not allowed`, hintOf(''), true)
  }
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty)
      const described = schemaProperty(parent, missing) ?? propertyBesideThen(root, parent, missing)
      const about = described?.description ? ` (${String(described.description)})` : ''
      // The property does not exist, so the position is that of the object it belongs in.
      return {
        ...at(segments, `${name} is missing the required property '${missing}'`, ''),
        pointer: toPointer([...segments, missing]),
        hint: `add '${missing}'${about}`,
      }
    }
    case 'additionalProperties': {
      const unknown = String(params.additionalProperty)
      const known = Object.keys((parent.properties as Schema | undefined) ?? {})
      const closest = closestName(unknown, known)
      const suggestion = closest ? `did you mean '${closest}'? ` : ''
      return at(
        [...segments, unknown],
        `unknown property '${unknown}' in ${name}`,
        `${suggestion}allowed properties here: ${known.join(', ')}`,
        true,
      )
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String)
      return at(
        segments,
        `${name} is ${value}, which is not allowed`,
        `use one of: ${allowed.join(', ')}`,
      )
    }
    case 'const':
      return at(segments, `${name} must be ${describeValue(params.allowedValue)}`, '')
    case 'type': {
      const type = String(params.type)
      return at(
        segments,
        `${name} must be ${article(type)}, found ${value}`,
        typeHint(type, parent),
      )
    }
    case 'pattern':
      return at(
        segments,
        `${name} is ${value}, which is not allowed`,
        hintOf(`match ${params.pattern}`),
      )
    case 'format': {
      if (params.format === 're2') {
        const compiled = compileBodyPattern(String(error.data))
        const why = compiled.ok ? '' : ` (${compiled.reason})`
        return at(
          segments,
          `${name} is ${value}, which is not a regular expression DevSys can run${why}`,
          hintOf(''),
        )
      }
      return at(segments, `${name} is ${value}, which is not a valid ${params.format}`, hintOf(''))
    }
    case 'minLength':
      return params.limit === 1
        ? at(segments, `${name} is empty`, hintOf(describeOf(parent, 'write a value')))
        : at(segments, `${name} is shorter than ${params.limit} characters`, hintOf(''))
    case 'maxLength':
      return at(segments, `${name} is longer than ${params.limit} characters`, 'shorten it')
    case 'minItems':
      return at(
        segments,
        `${name} needs at least ${count(Number(params.limit), 'item')}`,
        `add at least ${count(Number(params.limit), 'item')}${about(parent)}`,
      )
    case 'maxItems':
    case 'maxProperties':
      return at(segments, `${name} has more than ${params.limit} entries`, 'remove some entries')
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const range = rangeText(parent)
      return at(segments, `${name} is ${value}, out of range`, `use a number ${range}`)
    }
    default:
      return at(segments, `${name} ${error.message ?? 'is invalid'}`, describeOf(parent, ''))
  }
}

/** 'stack', 'acceptance[0].path', or 'the top level'. */
function describeName(segments: readonly string[]): string {
  if (segments.length === 0) return 'the top level'
  let out = ''
  for (const s of segments) out += /^\d+$/.test(s) ? `[${s}]` : out === '' ? s : `.${s}`
  return `'${out}'`
}

/** A value as shown in a message: quoted and cut short, or its kind for containers. */
export function describeValue(data: unknown): string {
  if (typeof data === 'string') {
    const shown = data.length > 60 ? `${data.slice(0, 57)}...` : data
    return JSON.stringify(shown)
  }
  if (Array.isArray(data)) return 'a list'
  if (data === null) return 'null'
  if (typeof data === 'object') return 'an object'
  return `${typeof data === 'number' ? 'the number' : 'the value'} ${String(data)}`
}

function schemaProperty(parent: Schema, name: string): Schema | undefined {
  const properties = parent.properties as Record<string, Schema> | undefined
  return properties?.[name]
}

/**
 * The declaration of a property that a `required` inside `then` names: it sits beside the `if`,
 * in the schema whose `then` is the failing one (ajv keeps our schema objects, so identity works).
 */
function propertyBesideThen(root: Schema, then: Schema, name: string): Schema | undefined {
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const node = stack.pop()
    if (typeof node !== 'object' || node === null) continue
    const schema = node as Schema
    if (schema.then === then || schema.else === then) return schemaProperty(schema, name)
    stack.push(...Object.values(schema))
  }
  return undefined
}

function about(schema: Schema): string {
  return typeof schema.description === 'string' ? ` (${schema.description})` : ''
}

function describeOf(schema: Schema, fallback: string): string {
  return typeof schema.description === 'string' ? schema.description : fallback
}

function article(type: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
    array: 'a list',
    object: 'an object',
    null: 'null',
  }
  return names[type] ?? type
}

function typeHint(type: string, schema: Schema): string {
  const hints: Record<string, string> = {
    string: 'write text in double quotes, e.g. "example"',
    integer: 'write a whole number without quotes, e.g. 200',
    number: 'write a number without quotes',
    boolean: 'write true or false without quotes',
    array: 'write a list, e.g. ["a", "b"] in JSON or one "- item" line per entry in YAML',
    object: 'write an object, e.g. {"key": "value"} in JSON or indented "key: value" lines in YAML',
  }
  const hint = hints[type] ?? `write ${article(type)}`
  return typeof schema['x-hint'] === 'string' ? schema['x-hint'] : hint
}

function rangeText(schema: Schema): string {
  const min = schema.minimum ?? schema.exclusiveMinimum
  const max = schema.maximum ?? schema.exclusiveMaximum
  if (min !== undefined && max !== undefined) return `from ${min} to ${max}`
  if (min !== undefined) return `of at least ${min}`
  return `of at most ${max}`
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

/** The known name closest to a misspelt one, when it is close enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase().replaceAll(/[-_ ]/g, '')
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const d = editDistance(lower, candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 3))
  return bestDistance <= limit ? best : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      )
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
