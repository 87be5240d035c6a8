/**
 * The dashboard's HTTP answers without a browser: a real SQLite store and HTTP server, GitHub
 * roles from a small fake. Covers what the browser test does not: who may reach which page
 * signed out, the security headers, sign-out ending the session, and live updates.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadEnv } from '../../src/config/load-env.js'
import {
  CONTENT_SECURITY_POLICY,
  createDashboardHandler,
} from '../../src/dashboard/create-dashboard-handler.js'
import type { DashboardRole } from '../../src/dashboard/roles.js'
import { createSessions } from '../../src/dashboard/sessions.js'
import { createLogger } from '../../src/logger.js'
import { initialMonitorState } from '../../src/store/monitor-records.js'
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js'
import { newTask } from '../contracts/fixtures.js'
import { httpRequest } from '../helpers/http.js'

let dir: string
let store: SqliteStore
let server: Server
let base: string
const sessions = createSessions()
const roles = new Map<string, DashboardRole>()

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devsys-dashboard-'))
  const log = createLogger('silent')
  store = openSqliteStore({ dataDir: dir, log })
  const loaded = loadEnv({ MANAGER_API_TOKEN: 'dashboard-test-token-0123', DATA_DIR: dir })
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
  const handler = createDashboardHandler(
    {
      config: loaded.config,
      store,
      queue: {
        enqueue: () => Promise.reject(new Error('no jobs here')),
        listJobs: async () => [],
        countJobs: async () => [],
      },
      roles: { roleOf: async (login) => roles.get(login) ?? 'none' },
      log,
    },
    { sessions, liveIntervalMs: 50 },
  )
  server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterEach(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const as = (id: string) => ({ cookie: `devsys_session=${id}` })

describe('the dashboard over HTTP', () => {
  it('sends people who are not signed in to the sign-in page, and refuses their POSTs', async () => {
    const page = await httpRequest(`${base}/dashboard`)
    expect(page.status).toBe(303)
    expect(page.headers.location).toBe('/dashboard/sign-in')
    const signIn = await httpRequest(`${base}/dashboard/sign-in`)
    expect(signIn.status).toBe(200)
    expect(signIn.text).toContain('GitHub sign-in is not set up: set GITHUB_CLIENT_ID')
    expect(signIn.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
    expect(signIn.headers['x-frame-options']).toBe('DENY')
    expect(signIn.headers['cache-control']).toBe('no-store')
    const post = await httpRequest(`${base}/dashboard/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'repo=o/r&env=production&deployment=1',
    })
    expect(post.status).toBe(401)
    expect((await httpRequest(`${base}/other`)).status).toBe(404)
  })

  it('serves its one script and stylesheet, and no page holds an inline script or style', async () => {
    const script = await httpRequest(`${base}/dashboard/static/live.js`)
    expect(script.status).toBe(200)
    expect(script.headers['content-type']).toMatch(/^text\/javascript/)
    expect(script.text).toContain('EventSource')
    const css = await httpRequest(`${base}/dashboard/static/dashboard.css`)
    expect(css.headers['content-type']).toMatch(/^text\/css/)
    roles.set('mona', 'operator')
    const { id } = sessions.create('mona')
    const page = await httpRequest(`${base}/dashboard/queue`, { headers: as(id) })
    expect(page.status).toBe(200)
    expect(page.text).toContain('<script src="/dashboard/static/live.js" defer></script>')
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i)
  })

  it('signing out (with the form’s CSRF token) ends the session on the server', async () => {
    roles.set('mona', 'viewer')
    const { id, session } = sessions.create('mona')
    expect((await httpRequest(`${base}/dashboard`, { headers: as(id) })).status).toBe(200)
    const out = await httpRequest(`${base}/dashboard/sign-out`, {
      method: 'POST',
      headers: { ...as(id), 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf=${session.csrf}`,
    })
    expect(out.status).toBe(303)
    expect(String(out.headers['set-cookie'])).toContain('devsys_session=; Path=/; Max-Age=0')
    expect((await httpRequest(`${base}/dashboard`, { headers: as(id) })).status).toBe(303)
  })

  it('shows what the monitor says of each environment: its status and the open incident', async () => {
    roles.set('mona', 'viewer')
    const { id } = sessions.create('mona')
    const deploy = {
      taskId: null,
      trigger: 'api',
      actor: 'manager-api',
      commitSha: 'a'.repeat(40),
      ref: 'main',
      state: 'success',
    } as const
    await store.createDeployment({ ...deploy, repo: 'o/r', environment: 'production' })
    await store.createDeployment({ ...deploy, repo: 'o/r', environment: 'staging' })
    await store.createDeployment({ ...deploy, repo: 'o/r', environment: 'review' })
    await store.saveMonitorState({
      ...initialMonitorState('o/r', 'production'),
      status: 'down',
      consecutiveFailures: 3,
      incidentIssue: 77,
    })
    await store.saveMonitorState(initialMonitorState('o/r', 'staging'))
    const page = await httpRequest(`${base}/dashboard`, { headers: as(id) })
    expect(page.status).toBe(200)
    const row = (env: string) =>
      new RegExp(`<tr data-env="o/r:${env}">[\\s\\S]*?</tr>`).exec(page.text)?.[0] ?? ''
    expect(row('production')).toContain(
      '<td data-label="Monitor"><span class="bad">down</span> · <span class="bad">incident #77</span></td>',
    )
    expect(row('staging')).toContain('<td data-label="Monitor"><span class="ok">up</span></td>')
    expect(row('review')).toContain('not checked yet')
  })

  it("puts the monitor's incidents on the timeline of a task deployed to that environment", async () => {
    roles.set('mona', 'viewer')
    const { id } = sessions.create('mona')
    await store.saveTask(newTask({ id: 'shop-api' }))
    await store.createDeployment({
      repo: 'acme/shop',
      environment: 'production',
      taskId: 'shop-api',
      trigger: 'merge',
      actor: 'alice',
      commitSha: 'a'.repeat(40),
      ref: 'main',
      state: 'success',
    })
    const incident = (action: string, environment: string) =>
      store.audit({
        actor: 'devsys-monitor',
        via: 'monitor',
        action,
        subject: `incident:acme/shop:${environment}`,
        target: { repo: 'acme/shop', environment },
        details: { issue: 9 },
      })
    await incident('incident.opened', 'production')
    await incident('incident.opened', 'staging')
    await incident('incident.resolved', 'production')
    const page = await httpRequest(`${base}/dashboard/task?repo=acme/shop&id=shop-api`, {
      headers: as(id),
    })
    expect(page.status).toBe(200)
    const text = page.text.replace(/\s+/g, ' ')
    expect(text).toContain(
      'Incident opened</span> on <a href="/dashboard/env?repo=acme%2Fshop&amp;env=production">production</a> (issue #9) by the monitor',
    )
    expect(text).toContain('Incident resolved</span> on')
    // The task never went to staging: its incident is not this task's.
    expect(text).not.toContain('>staging</a> (issue')
  })

  it('tells a connected page when a deploy is recorded, without sending what changed', async () => {
    roles.set('mona', 'viewer')
    const { id } = sessions.create('mona')
    const answer = await fetch(`${base}/dashboard/events`, { headers: as(id) })
    expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader()
    let seen = ''
    const read = async (until: RegExp) => {
      while (!until.test(seen)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended: ${seen}`)
        seen += new TextDecoder().decode(value)
      }
    }
    await read(/retry: 3000/)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await store.createDeployment({
      repo: 'o/r',
      environment: 'production',
      taskId: 'blog',
      trigger: 'api',
      actor: 'manager-api',
      commitSha: 'a'.repeat(40),
      ref: 'main',
    })
    await read(/event: change\ndata: \d+\n\n/)
    expect(seen).not.toContain('o/r')
    await reader.cancel()
  })
})
