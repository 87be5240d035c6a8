/**
 * The GitHub side of every DevSys test: a real Probot instance, nock for api.github.com with net
 * connect disabled, and a check of every request against GitHub's REST description.
 *
 *   const github = useGitHubMock()          // beforeEach: mockGitHub(); afterEach: assertGitHubClean()
 *   const probot = await createTestProbot(app)
 *   const comment = nockCreateIssueComment('Codertocat', 'Hello-World', 1)
 *   await probot.receive(exampleEvent('issues.opened'))
 *   expect(await comment.body).toMatchObject({ body: expect.stringContaining('DevSys') })
 */
import { generateKeyPairSync } from 'node:crypto'
import nock from 'nock'
import { pino } from 'pino'
import { type ApplicationFunction, Probot, ProbotOctokit } from 'probot'
import { afterEach, beforeEach } from 'vitest'
import { validateGitHubRequest } from './openapi.js'

export const GITHUB_API = 'https://api.github.com'
export const TEST_APP_ID = 1
export const TEST_WEBHOOK_SECRET = 'devsys-test-webhook-secret'
/** The installation token every mocked token exchange hands out. */
export const TEST_INSTALLATION_TOKEN = 'ghs_test0000000000000000000000000000000'

export * from './github-endpoints.js'

let privateKey: string | undefined

/** An RSA 2048 private key (PKCS#1 PEM), generated once per test process. */
export function testPrivateKey(): string {
  privateKey ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  }).privateKey
  return privateKey
}

/** A silent logger, or one at `LOG_LEVEL` when set, for debugging a test. */
export function testLogger(): pino.Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'silent' })
}

/** A real Probot (app id 1, throwaway key, no retries or throttling), with `appFn` loaded if given. */
export async function createTestProbot(appFn?: ApplicationFunction): Promise<Probot> {
  const probot = new Probot({
    appId: TEST_APP_ID,
    privateKey: testPrivateKey(),
    secret: TEST_WEBHOOK_SECRET,
    // A defaults *function* runs after Probot's own defaults, which would otherwise turn the
    // throttle back on (its object defaults replace ours) and space writes 1-3 s apart.
    Octokit: ProbotOctokit.defaults((options: Record<string, unknown>) => ({
      ...options,
      retry: { enabled: false },
      throttle: { ...(options.throttle as object), enabled: false },
    })),
    log: testLogger(),
  })
  if (appFn) await probot.load(appFn)
  return probot
}

/** A request the app sent to GitHub, as nock saw it. */
export interface GitHubRequest {
  method: string
  /** Path and query, e.g. `/repos/o/r/issues/1/comments`. */
  path: string
  /** Parsed JSON body; the raw text when it was not JSON; `undefined` when empty. */
  body: unknown
  matched: boolean
}

interface MockState {
  requests: GitHubRequest[]
  problems: string[]
  /** Bodies of unmatched requests are read asynchronously; assert waits for none of them. */
  reading: Set<Promise<void>>
}

let state: MockState | undefined
let hooksInstalled = false

function isLoopback(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]'
}

function parseBody(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

function record(request: Request, bodyText: string, matched: boolean): void {
  if (!state) return
  const url = new URL(request.url)
  if (isLoopback(url.hostname)) return
  const entry = {
    method: request.method,
    path: url.pathname + url.search,
    body: parseBody(bodyText),
    matched,
  }
  state.requests.push(entry)
  if (url.origin !== GITHUB_API) {
    state.problems.push(
      `${entry.method} ${request.url}: request to a host other than ${GITHUB_API}`,
    )
    return
  }
  if (!matched) {
    state.problems.push(
      `${entry.method} ${entry.path}: no match (no nock interceptor for this request)`,
    )
  }
  state.problems.push(...validateGitHubRequest(entry.method, entry.path, entry.body))
}

/**
 * Nock 15 has no global hook that sees every request with its body: each Scope emits
 * `request(req, interceptor, bodyText)` for the requests it matched, and `nock.emitter` emits
 * `no match(req)` for the rest. To see matched requests of *every* scope (also ones a test builds
 * with a plain `nock(...)`), Scope's `emit` is wrapped once per process. nock is pinned to 15.0.0
 * and github.test.ts proves both paths.
 */
function installHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean
  const scopePrototype = Object.getPrototypeOf(nock(GITHUB_API)) as { emit: Emit }
  const emit = scopePrototype.emit
  scopePrototype.emit = function (this: unknown, event, ...args) {
    const [request, , bodyText] = args
    if (event === 'request' && request instanceof Request) {
      record(request, typeof bodyText === 'string' ? bodyText : '', true)
    }
    return emit.call(this, event, ...args)
  }
  nock.emitter.on('no match', (request: Request) => {
    const current = state
    if (!current || isLoopback(new URL(request.url).hostname)) return
    const reading = request
      .clone()
      .text()
      .catch(() => '')
      .then((text) => {
        if (state === current) record(request, text, false)
      })
      .finally(() => current.reading.delete(reading))
    current.reading.add(reading)
  })
}

/** Mocks the installation token exchange for any installation, for the whole test. */
export function nockInstallationToken(): nock.Scope {
  return nock(GITHUB_API)
    .persist()
    .post(/^\/app\/installations\/\d+\/access_tokens$/)
    .optionally()
    .reply(201, {
      token: TEST_INSTALLATION_TOKEN,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      permissions: {
        checks: 'write',
        contents: 'write',
        issues: 'write',
        metadata: 'read',
        pull_requests: 'write',
      },
      repository_selection: 'all',
    })
}

/**
 * Starts a clean GitHub mock: no real network (loopback allowed), the token exchange mocked,
 * and every request to GitHub recorded and validated. Returns a factory for api.github.com scopes.
 */
export function mockGitHub(): () => nock.Scope {
  installHooks()
  nock.cleanAll()
  nock.disableNetConnect()
  nock.enableNetConnect((host) => isLoopback(host.replace(/:\d+$/, '')))
  state = { requests: [], problems: [], reading: new Set() }
  nockInstallationToken()
  return () => nock(GITHUB_API)
}

/** Requests sent to GitHub since `mockGitHub()`, in order. */
export function githubRequests(): readonly GitHubRequest[] {
  return state?.requests ?? []
}

/** Waits until bodies of unmatched requests have been read, so their problems are recorded. */
export async function settleGitHub(): Promise<void> {
  while (state && state.reading.size > 0) await Promise.all(state.reading)
}

/**
 * Throws one readable error listing every problem since `mockGitHub()`: requests nock could not
 * match, requests GitHub's description rejects, and mocks that were never requested.
 */
export function assertGitHubClean(): void {
  if (!state)
    throw new Error('assertGitHubClean() called without mockGitHub(); call it in beforeEach')
  const pending = nock.pendingMocks().map((m) => `${m}: mocked but never requested`)
  const problems = [...state.problems, ...pending]
  if (problems.length > 0) {
    throw new Error(
      `GitHub mock is not clean (${problems.length} problem(s)):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    )
  }
}

/** Ends the mock: removes interceptors and re-enables the network for whatever runs next. */
export function restoreGitHub(): void {
  state = undefined
  nock.cleanAll()
  nock.enableNetConnect()
}

/**
 * Registers `mockGitHub()` before each test and `assertGitHubClean()` + cleanup after it.
 * Returns the api.github.com scope factory.
 */
export function useGitHubMock(): () => nock.Scope {
  beforeEach(() => {
    mockGitHub()
  })
  afterEach(async () => {
    try {
      await settleGitHub()
      assertGitHubClean()
    } finally {
      restoreGitHub()
    }
  })
  return () => nock(GITHUB_API)
}
