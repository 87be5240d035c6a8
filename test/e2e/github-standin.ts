/**
 * A GitHub stand-in for end-to-end tests: a real HTTP server on a loopback port that DevSys, run
 * as its own process, talks to as a GitHub Enterprise Server (GHE_HOST / GHE_PROTOCOL=http).
 * It answers the routes a test gives it, hands out installation tokens, checks every request
 * against GitHub's OpenAPI description and records everything, so a test can wait for the
 * requests a user would see and assert that none was invalid or unknown.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { validateGitHubRequest } from '../helpers/openapi.js'

/** A request as the stand-in saw it, with GitHub's API prefix (`/api/v3`) removed. */
export interface StandinRequest {
  method: string
  /** Decoded path without query, e.g. `/repos/o/r/contents/.github/devsys.yml`. */
  path: string
  query: URLSearchParams
  /** Parsed JSON body; the raw text when it was not JSON; `undefined` when empty. */
  body: unknown
  headers: IncomingMessage['headers']
  /** Values of the route's `{name}` segments. */
  params: Record<string, string>
  /** The route template that answered, or `undefined` for an unknown route (answered 404). */
  route: string | undefined
  status: number
  /** Where GitHub's description rejects the request (empty when valid). */
  problems: string[]
  /** When the stand-in received it (milliseconds since the epoch). */
  at: number
}

export interface Reply {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

/**
 * One route: `METHOD /path/{param}/…`, where `{name}` is one segment and a final `{name*}` is
 * the rest of the path (file paths). `reply` sees the request and returns the answer.
 */
export interface StandinRoute {
  route: string
  reply: (request: StandinRequest) => Reply | Promise<Reply>
}

export interface GitHubStandin {
  /** `127.0.0.1:<port>`, for GHE_HOST. */
  host: string
  /** `http://127.0.0.1:<port>/api/v3` */
  apiUrl: string
  /** The installation token every token request is answered with. */
  token: string
  requests: StandinRequest[]
  /** Adds routes; a later route for the same request wins over an earlier one. */
  routes(...routes: StandinRoute[]): void
  /** Every OpenAPI problem of every request so far, and every unknown route. */
  problems(): string[]
  /**
   * Waits until a recorded request matches `match` (`METHOD /path` string with `{param}` segments,
   * or a predicate) and returns it; `count` waits for that many matches and returns the last.
   */
  waitFor(
    match: string | ((r: StandinRequest) => boolean),
    opts?: { timeoutMs?: number; count?: number; describe?: () => string },
  ): Promise<StandinRequest>
  close(): Promise<void>
}

interface CompiledRoute {
  template: string
  method: string
  segments: string[]
  reply: StandinRoute['reply']
}

const API_PREFIX = '/api/v3'

/** Starts the stand-in on a free loopback port. */
export async function startGitHubStandin(): Promise<GitHubStandin> {
  const token = `ghs_${randomBytes(18).toString('hex')}`
  const requests: StandinRequest[] = []
  const table: CompiledRoute[] = []
  const waiters = new Set<() => void>()

  const add = (...routes: StandinRoute[]) => {
    for (const r of routes) table.unshift(compile(r))
  }
  add({
    route: 'POST /app/installations/{installation_id}/access_tokens',
    reply: () => ({
      status: 201,
      body: {
        token,
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        permissions: {
          checks: 'write',
          contents: 'write',
          deployments: 'write',
          issues: 'write',
          metadata: 'read',
          pull_requests: 'write',
        },
        repository_selection: 'all',
      },
    }),
  })

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const url = new URL(req.url ?? '/', 'http://standin')
    // GHE serves REST under /api/v3 and GraphQL at /api/graphql.
    const raw = url.pathname.startsWith(API_PREFIX)
      ? url.pathname.slice(API_PREFIX.length)
      : url.pathname.replace(/^\/api\/graphql$/, '/graphql')
    const path = safeDecode(raw)
    const method = (req.method ?? 'GET').toUpperCase()
    const body = parseBody(Buffer.concat(chunks).toString('utf8'))
    const request: StandinRequest = {
      method,
      path,
      query: url.searchParams,
      body,
      headers: req.headers,
      params: {},
      route: undefined,
      status: 404,
      problems: validateGitHubRequest(method, raw + url.search, body),
      at: Date.now(),
    }
    let reply: Reply = {
      status: 404,
      body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
    }
    for (const route of table) {
      const params = matchRoute(route, method, path)
      if (!params) continue
      request.params = params
      request.route = route.template
      try {
        reply = await route.reply(request)
      } catch (error) {
        reply = { status: 500, body: { message: `stand-in route failed: ${String(error)}` } }
      }
      break
    }
    request.status = reply.status
    requests.push(request)
    for (const wake of waiters) wake()
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body)
    res.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      ...reply.headers,
    })
    res.end(text)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    host: `127.0.0.1:${port}`,
    apiUrl: `http://127.0.0.1:${port}${API_PREFIX}`,
    token,
    requests,
    routes: add,
    problems() {
      return requests.flatMap((r) => [
        ...(r.route === undefined ? [`${r.method} ${r.path}: no route in the stand-in`] : []),
        ...r.problems,
      ])
    },
    async waitFor(match, opts = {}) {
      const test = typeof match === 'string' ? requestMatcher(match) : match
      const count = opts.count ?? 1
      const timeoutMs = opts.timeoutMs ?? 60_000
      const found = () => requests.filter(test)[count - 1]
      const deadline = Date.now() + timeoutMs
      while (!found()) {
        if (Date.now() > deadline) {
          const seen = requests.map((r) => `  ${r.status} ${r.method} ${r.path}`).join('\n')
          throw new Error(
            `GitHub stand-in: no ${typeof match === 'string' ? match : 'matching request'} (×${count}) within ${timeoutMs} ms. Requests seen:\n${seen}${opts.describe ? `\n${opts.describe()}` : ''}`,
          )
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake)
            clearTimeout(timer)
            resolve()
          }
          const timer = setTimeout(wake, 250)
          waiters.add(wake)
        })
      }
      return found() as StandinRequest
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function compile(route: StandinRoute): CompiledRoute {
  const [method = '', template = ''] = route.route.split(' ')
  return {
    template: route.route,
    method: method.toUpperCase(),
    segments: template.split('/').slice(1),
    reply: route.reply,
  }
}

function matchRoute(
  route: CompiledRoute,
  method: string,
  path: string,
): Record<string, string> | undefined {
  if (route.method !== method) return undefined
  const parts = path.replace(/\/+$/, '').split('/').slice(1)
  const params: Record<string, string> = {}
  for (const [i, segment] of route.segments.entries()) {
    const name = /^\{(\w+)(\*?)\}$/.exec(segment)
    if (name?.[2] === '*') {
      if (i >= parts.length) return undefined
      params[name[1] as string] = parts.slice(i).join('/')
      return params
    }
    const part = parts[i]
    if (part === undefined) return undefined
    if (name) params[name[1] as string] = part
    else if (segment !== part) return undefined
  }
  return parts.length === route.segments.length ? params : undefined
}

/** A predicate for `METHOD /path/{param}` against recorded requests. */
function requestMatcher(spec: string): (r: StandinRequest) => boolean {
  const route = compile({ route: spec, reply: () => ({ status: 200 }) })
  return (r) => matchRoute(route, r.method, r.path) !== undefined
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

function parseBody(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
