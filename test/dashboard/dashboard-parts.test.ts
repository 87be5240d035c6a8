import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { hashApiToken } from '../../src/api/api-tokens.js'
import { ApiError } from '../../src/api/http.js'
import { loadEnv } from '../../src/config/load-env.js'
import { apiBaseUrl, authorizeUrl, oauthBaseUrl } from '../../src/dashboard/github-sign-in.js'
import { html, safeUrl } from '../../src/dashboard/html.js'
import { monitorCell } from '../../src/dashboard/pages/environments.js'
import { failuresOf } from '../../src/dashboard/pages/task.js'
import { roleOn, tokenPrincipal } from '../../src/dashboard/principal.js'
import { atLeast, dashboardRole } from '../../src/dashboard/roles.js'
import { cookie, createSessions, sessionCookieName } from '../../src/dashboard/sessions.js'
import { forgetSecrets, redact } from '../../src/secrets/redact.js'
import { registerConfigSecrets } from '../../src/secrets/register-config-secrets.js'
import { initialMonitorState } from '../../src/store/monitor-records.js'
import type { ApiToken, Task } from '../../src/store/store.js'

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage

describe('dashboard parts', () => {
  it('escapes every interpolated value, so text from GitHub or a manifest cannot become markup', () => {
    const name = `<script>alert("x")</script>' onmouseover='y`
    const page = html`<td title="${name}">${name}</td>`.text
    expect(page).not.toContain('<script>')
    expect(page).toBe(
      '<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y</td>',
    )
    expect(html`<p>${html`<b>${'&'}</b>`}</p>`.text).toBe('<p><b>&amp;</b></p>')
    // Stored links (deploy URLs, PRs, issues) are linked only when they are http(s).
    expect(safeUrl('https://blog.example.com/')).toBe('https://blog.example.com/')
    expect(safeUrl('javascript:alert(1)')).toBe('#')
    expect(safeUrl('data:text/html,x')).toBe('#')
  })

  it('maps GitHub permissions to roles: read → viewer, write → operator, admin → admin', () => {
    expect(dashboardRole('read')).toBe('viewer')
    expect(dashboardRole('triage')).toBe('viewer')
    expect(dashboardRole('write')).toBe('operator')
    expect(dashboardRole('maintain')).toBe('operator')
    expect(dashboardRole('admin')).toBe('admin')
    expect(dashboardRole('none')).toBe('none')
    expect(atLeast('operator', 'viewer')).toBe(true)
    expect(atLeast('viewer', 'operator')).toBe(false)
    expect(atLeast('operator', 'admin')).toBe(false)
  })

  it('keeps sessions by the hash of their id, with a CSRF token each, until they expire', () => {
    let now = 1_000
    const sessions = createSessions({ ttlMs: 60_000, now: () => now })
    const { id, session } = sessions.create('mona')
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(session.csrf).not.toBe(id)
    expect(sessions.get(id)?.login).toBe('mona')
    expect(sessions.get(`${id}x`)).toBeUndefined()
    const other = sessions.create('vic')
    expect(other.session.csrf).not.toBe(session.csrf)
    now += 60_000
    expect(sessions.get(id)).toBeUndefined()
    const again = sessions.create('mona')
    sessions.delete(again.id)
    expect(sessions.get(again.id)).toBeUndefined()
  })

  it('sets cookies HttpOnly and SameSite=Lax, Secure with a __Host- name over https', () => {
    expect(sessionCookieName({ secure: true })).toBe('__Host-devsys_session')
    expect(sessionCookieName({ secure: false })).toBe('devsys_session')
    expect(cookie('a', 'b', { secure: true, path: '/', maxAgeSeconds: 60 })).toBe(
      'a=b; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure',
    )
    expect(cookie('a', '', { secure: false, path: '/x', maxAgeSeconds: 0 })).toBe(
      'a=; Path=/x; Max-Age=0; HttpOnly; SameSite=Lax',
    )
  })

  it('finds GitHub’s OAuth pages as @octokit/oauth-methods does: github.com, or the Enterprise Server root', () => {
    expect(oauthBaseUrl({})).toBe('https://github.com')
    expect(apiBaseUrl({})).toBe('https://api.github.com')
    const ghe = { gheHost: 'github.example.com:8443', gheProtocol: 'https' as const }
    expect(oauthBaseUrl(ghe)).toBe('https://github.example.com:8443')
    expect(apiBaseUrl(ghe)).toBe('https://github.example.com:8443/api/v3')
    const url = new URL(
      authorizeUrl(
        'https://github.com',
        { clientId: 'Iv1.x', clientSecret: 'never-shown' },
        {
          redirectUrl: 'https://devsys.example.com/dashboard/oauth/callback',
          state: 'st4te',
        },
      ),
    )
    expect(url.origin + url.pathname).toBe('https://github.com/login/oauth/authorize')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'Iv1.x',
      redirect_uri: 'https://devsys.example.com/dashboard/oauth/callback',
      state: 'st4te',
      allow_signup: 'false',
    })
  })

  it('signs a script in with an API token: the bootstrap one as admin everywhere, a named one with its role within its scope; refuses a wrong one, ignores none', async () => {
    const config = { managerApiToken: 'the-manager-token-0123' }
    const secret = `dsy_${'k'.repeat(43)}`
    const named: ApiToken = {
      id: 7,
      name: 'ops',
      role: 'operator',
      repos: ['octo/*'],
      environments: ['staging'],
      createdBy: 'manager-api',
      createdAt: '2026-12-01T00:00:00.000Z',
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    }
    const tokens = {
      findApiTokenByHash: async (hash: string) =>
        hash === hashApiToken(secret) ? named : undefined,
      touchApiToken: async () => undefined,
    }
    const roles = { roleOf: async () => 'admin' as const }
    expect(await tokenPrincipal(request({}), config, tokens)).toBeUndefined()
    const bootstrap = await tokenPrincipal(
      request({ authorization: 'Bearer the-manager-token-0123' }),
      config,
      tokens,
    )
    expect(bootstrap).toMatchObject({ kind: 'token', login: 'manager-api', role: 'admin' })
    const ops = await tokenPrincipal(request({ 'x-api-token': secret }), config, tokens)
    expect(ops).toMatchObject({ kind: 'token', login: 'token:ops', role: 'operator' })
    if (ops === undefined) throw new Error('no principal')
    expect(await roleOn(ops, roles, 'octo/blog', { environment: 'staging' })).toBe('operator')
    expect(await roleOn(ops, roles, 'octo/blog', { environment: 'production' })).toBe('none')
    expect(await roleOn(ops, roles, 'other/site')).toBe('none')
    await expect(
      tokenPrincipal(request({ 'x-api-token': 'wrong-token-0123456789' }), config, tokens),
    ).rejects.toThrow(ApiError)
    await expect(
      tokenPrincipal(request({ 'x-api-token': `dsy_${'w'.repeat(43)}` }), config, tokens),
    ).rejects.toThrow(ApiError)
  })

  it('redacts GITHUB_CLIENT_SECRET from every log and message, like the other secrets', () => {
    const loaded = loadEnv({
      GITHUB_CLIENT_ID: 'Iv1.x',
      GITHUB_CLIENT_SECRET: 'oauth-secret-0123456789',
    })
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
    try {
      expect(registerConfigSecrets(loaded.config)).toEqual([])
      expect(redact('exchange with oauth-secret-0123456789 failed')).not.toContain(
        'oauth-secret-0123456789',
      )
    } finally {
      forgetSecrets()
    }
  })

  it('links the open incident issue beside the task’s pull request, and nothing else', () => {
    const down = {
      ...initialMonitorState('o/r', 'production'),
      status: 'down',
      incidentIssue: 77,
    } as const
    const task = { code: { pullRequest: { number: 5, url: 'https://github.com/o/r/pull/5' } } }
    expect(String(monitorCell(down, task as unknown as Task))).toContain(
      '<a class="bad" href="https://github.com/o/r/issues/77">incident #77</a>',
    )
    const hostile = { code: { pullRequest: { number: 5, url: 'javascript:alert(1)' } } }
    expect(String(monitorCell(down, hostile as unknown as Task))).not.toContain('href')
  })

  it('lists a test run’s failures first in the timeline, where the check run annotates them', () => {
    const cases = [
      { suite: 'PostTest', name: 'shows a post', status: 'passed', timeMs: 1 },
      {
        suite: 'PostTest',
        name: 'answers 404 for a missing post',
        status: 'failed',
        timeMs: 1,
        file: 'tests/PostTest.php',
        line: 42,
        message: 'Failed asserting that 200 is identical to 404.',
      },
      { suite: 'DbTest', name: 'connects <db>', status: 'errored', timeMs: 1, message: 'boom' },
      ...Array.from({ length: 11 }, (_, i) => ({
        suite: 'More',
        name: `case ${i}`,
        status: 'failed',
        timeMs: 1,
      })),
    ]
    const text = String(failuresOf({ report: { cases } }))
    expect(text).toContain(
      '<code>tests/PostTest.php:42</code> answers 404 for a missing post: Failed asserting that 200 is identical to 404.',
    )
    expect(text).toContain('<code>DbTest</code> connects &lt;db&gt;: boom')
    expect(text).not.toContain('shows a post')
    expect(text.match(/<li>/g)?.length).toBe(10)
    expect(text).toContain('and 3 more (see the check run)')
    expect(String(failuresOf({ report: null }))).toBe('')
  })
})
