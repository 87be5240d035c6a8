/**
 * Checks requests against GitHub's own REST description (@octokit/openapi), so a test fails when
 * DevSys calls an endpoint that does not exist or sends a body GitHub would reject with 422.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'

const DOC_ID = 'https://devsys.test/api.github.com.json'
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

interface OpenApiOperation {
  operationId?: string
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> }
}
type OpenApiDocument = {
  paths: Record<string, Record<string, OpenApiOperation | undefined>>
  components: { examples: Record<string, { value?: unknown }> }
}

/** One path template of the description, split into segments (`null` = a `{parameter}`). */
interface Route {
  template: string
  segments: (string | null)[]
  /** Name of the last segment when it is a parameter, e.g. `path` in `/contents/{path}`. */
  tailParam: string | undefined
  operations: Map<string, OpenApiOperation>
}

export interface GitHubOperation {
  method: string
  /** The templated path, e.g. `/repos/{owner}/{repo}/issues/{issue_number}/comments`. */
  template: string
  operationId: string | undefined
}

interface Loaded {
  routes: Route[]
  ajv: Ajv
  validators: Map<string, ValidateFunction>
  examples: OpenApiDocument['components']['examples']
}

let loaded: Loaded | undefined

/** Loads the 13 MB description once per process; later calls reuse it. */
function load(): Loaded {
  if (loaded) return loaded
  const require = createRequire(import.meta.url)
  // Only this one file: the package index loads every GitHub variant (hundreds of MB).
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json')
  const doc = JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument
  normalizeNullable(doc)
  const routes: Route[] = []
  for (const [template, item] of Object.entries(doc.paths)) {
    const operations = new Map<string, OpenApiOperation>()
    for (const method of HTTP_METHODS) {
      const operation = item[method]
      if (operation) operations.set(method, operation)
    }
    const segments = template
      .split('/')
      .slice(1)
      .map((s) => (s.startsWith('{') && s.endsWith('}') ? null : s))
    const tail = /\{([^}]+)\}$/.exec(template)?.[1]
    routes.push({ template, segments, tailParam: tail, operations })
  }
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false })
  // ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
    addFormatsModule) as unknown as (ajv: Ajv) => Ajv
  addFormats(ajv)
  ajv.addSchema(doc as object, DOC_ID)
  loaded = { routes, ajv, validators: new Map(), examples: doc.components.examples }
  return loaded
}

/**
 * OpenAPI 3.0 allows `nullable` next to `allOf`/`$ref` without `type`; ajv refuses that, so it is
 * rewritten once, in place, as `anyOf: [schema, {type: 'null'}]`.
 */
function normalizeNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) normalizeNullable(item)
    return
  }
  if (node === null || typeof node !== 'object') return
  const record = node as Record<string, unknown>
  for (const value of Object.values(record)) normalizeNullable(value)
  if ('nullable' in record && !('type' in record)) {
    const { nullable, ...rest } = record
    for (const key of Object.keys(record)) delete record[key]
    if (nullable === true) record.anyOf = [rest, { type: 'null' }]
    else Object.assign(record, rest)
  }
}

/** Splits a full URL or a path (with or without query) into decoded path segments. */
function pathSegments(url: string): { path: string; segments: string[] } {
  const parsed = new URL(url, 'https://api.github.com')
  const path = parsed.pathname.replace(/\/+$/, '') || '/'
  const segments = path
    .split('/')
    .slice(1)
    .map((s) => {
      try {
        return decodeURIComponent(s)
      } catch {
        return s
      }
    })
  return { path, segments }
}

/** -1 when `a` is more specific than `b`: the first segment where they differ decides, literal first. */
function bySpecificity(a: Route, b: Route): number {
  const length = Math.min(a.segments.length, b.segments.length)
  for (let i = 0; i < length; i++) {
    const aLiteral = a.segments[i] !== null
    const bLiteral = b.segments[i] !== null
    if (aLiteral !== bLiteral) return aLiteral ? -1 : 1
  }
  return b.segments.length - a.segments.length
}

/** Parameters that hold a file path or git ref, which clients may send with unescaped slashes. */
const SLASHED_PARAMS = new Set(['path', 'ref', 'branch', 'dir', 'basehead'])

function matches(route: Route, segments: string[], greedyTail: boolean): boolean {
  const n = route.segments.length
  const lengthOk = greedyTail
    ? segments.length > n && route.tailParam !== undefined && SLASHED_PARAMS.has(route.tailParam)
    : segments.length === n
  if (!lengthOk) return false
  return route.segments.every((s, i) => s === null || s === segments[i])
}

/** Templates matching the path, most specific first; a final `{param}` may span slashes as a fallback. */
function matchingRoutes(segments: string[]): Route[] {
  const { routes } = load()
  let found = routes.filter((r) => matches(r, segments, false))
  if (found.length === 0) found = routes.filter((r) => matches(r, segments, true))
  return found.sort(bySpecificity)
}

/** The operation GitHub's description defines for this method and URL, if any. */
export function findGitHubOperation(method: string, url: string): GitHubOperation | undefined {
  const m = method.toLowerCase()
  const route = matchingRoutes(pathSegments(url).segments).find((r) => r.operations.has(m))
  if (!route) return undefined
  return {
    method: m.toUpperCase(),
    template: route.template,
    operationId: route.operations.get(m)?.operationId,
  }
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** The validator of a request body (`status` undefined) or of the response with `status`. */
function validatorFor(template: string, method: string, status?: number): ValidateFunction {
  const state = load()
  const key = `${method} ${template} ${status ?? 'request'}`
  let validate = state.validators.get(key)
  if (!validate) {
    const part = status === undefined ? 'requestBody' : `responses/${status}`
    const pointer = `#/paths/${escapePointer(template)}/${method}/${part}/content/application~1json/schema`
    validate = state.ajv.compile({ $ref: `${DOC_ID}${pointer}` })
    state.validators.set(key, validate)
  }
  return validate
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath === '' ? '/' : error.instancePath
  const params = JSON.stringify(error.params)
  return `body ${where}: ${error.message ?? error.keyword} ${params}`
}

/**
 * Problems with a request DevSys would send to GitHub: unknown endpoint, body where none is
 * accepted, missing body, or a body that does not match the operation's JSON schema.
 * `body` is the parsed JSON body (a string when it was not JSON), `undefined` when none was sent.
 */
export function validateGitHubRequest(method: string, url: string, body: unknown): string[] {
  const m = method.toLowerCase()
  const { path, segments } = pathSegments(url)
  // GraphQL is not in the REST description: check the request's shape (the one mutation DevSys
  // sends is checked in detail by the test that expects it).
  if (path === '/graphql') return validateGraphQLRequest(m, body)
  const label = `${m.toUpperCase()} ${path}`
  const candidates = matchingRoutes(segments)
  const route = candidates.find((r) => r.operations.has(m))
  if (!route) {
    if (candidates[0]) {
      const allowed = [...candidates[0].operations.keys()].map((x) => x.toUpperCase()).join(', ')
      return [
        `${label}: ${candidates[0].template} has no ${m.toUpperCase()} operation (only ${allowed})`,
      ]
    }
    return [`${label}: no such path in GitHub's REST API description`]
  }
  const operation = route.operations.get(m) as OpenApiOperation
  const name = `${label} (${m.toUpperCase()} ${route.template}, ${operation.operationId ?? 'no operationId'})`
  const content = operation.requestBody?.content
  const hasBody = body !== undefined && body !== ''
  if (!content) {
    return hasBody ? [`${name}: sends a body but the operation accepts none`] : []
  }
  if (!hasBody) {
    return operation.requestBody?.required === true ? [`${name}: request body is required`] : []
  }
  if (!content['application/json']) {
    return [] // text/plain or binary uploads: nothing to check the bytes against
  }
  if (typeof body === 'string') {
    return [`${name}: body is not JSON: ${body.slice(0, 80)}`]
  }
  const validate = validatorFor(route.template, m)
  if (validate(body)) return []
  return (validate.errors ?? []).map((e) => `${name}: ${describeError(e)}`)
}

/**
 * Problems with an answer a GitHub stand-in gives: the operation has no JSON response with this
 * status, or the body does not match its schema (required fields missing, wrong types). Keeps
 * fakes of GitHub honest about the objects DevSys reads.
 */
export function validateGitHubResponse(
  method: string,
  url: string,
  status: number,
  body: unknown,
): string[] {
  const m = method.toLowerCase()
  const { path, segments } = pathSegments(url)
  const route = matchingRoutes(segments).find((r) => r.operations.has(m))
  if (!route)
    return [`${m.toUpperCase()} ${path}: no such operation in GitHub's REST API description`]
  const label = `${m.toUpperCase()} ${path} → ${status} (${route.template})`
  const operation = route.operations.get(m) as OpenApiOperation & {
    responses?: Record<string, { content?: Record<string, unknown> }>
  }
  if (!operation.responses?.[String(status)]?.content?.['application/json']) {
    return [`${label}: GitHub's description has no JSON response with this status`]
  }
  const validate = validatorFor(route.template, m, status)
  if (validate(body)) return []
  return (validate.errors ?? []).map(
    (e) => `${label}: ${describeError(e).replace(/^body/, 'response')}`,
  )
}

/** A fresh copy of one of the examples in GitHub's description (`components/examples/<name>`). */
export function githubExample(name: string): unknown {
  const example = load().examples[name]
  if (example?.value === undefined) throw new Error(`GitHub's description has no example ${name}`)
  return structuredClone(example.value)
}

/** A GraphQL request must be a POST of `{ query, variables? }` holding one named operation. */
function validateGraphQLRequest(method: string, body: unknown): string[] {
  const label = `${method.toUpperCase()} /graphql`
  if (method !== 'post') return [`${label}: GraphQL requests are POSTs`]
  if (typeof body !== 'object' || body === null) return [`${label}: body must be a JSON object`]
  const { query, variables, ...rest } = body as Record<string, unknown>
  const problems: string[] = []
  if (typeof query !== 'string' || !/^\s*(query|mutation)\b/.test(query)) {
    problems.push(`${label}: body /query must be a GraphQL query or mutation`)
  }
  if (variables !== undefined && (typeof variables !== 'object' || variables === null)) {
    problems.push(`${label}: body /variables must be an object`)
  }
  for (const key of Object.keys(rest)) problems.push(`${label}: unexpected body property /${key}`)
  return problems
}
