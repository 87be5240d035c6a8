/**
 * Issue 15, items 3–5, as people see the dashboard in a real browser (Debian's Chromium driven
 * by playwright-core), against DevSys as its own process and the GitHub stand-in, which also
 * plays GitHub's sign-in pages: sign in with GitHub, watch a deploy started elsewhere appear
 * without a reload, roll it back with the button (confirmation step), see the environment
 * switch back and the audit records; a viewer gets no button and every forged POST is refused.
 * With UPDATE_SCREENSHOTS=1 the pages are saved to docs/screenshots/ for the README.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { httpRequest } from '../helpers/http.js'
import { requireTool } from '../helpers/require-tool.js'
import { OWNER, REPO, useE2eWorld } from './e2e-world.js'
import { fakeOAuth } from './github-oauth-routes.js'
import { revParse } from './github-repo-routes.js'
import { deployedStatus, mergeAndDeploy, prCommentPayload } from './scenario-steps.js'

const hasTools =
  requireTool('chromium', 'the dashboard is tested in a real browser (Debian package chromium)') &&
  requireTool('php', 'the deployed blog is served by php -S') &&
  requireTool('phpunit', "the generated blog's tests run with PHPUnit before the merge")

const CLIENT = { id: 'Iv1.dashboard0test', secret: 'dashboard-client-secret-0123' }
const API_TOKEN = 'dashboard-e2e-api-token-0123456789'
const SHOTS_KEPT = process.env.UPDATE_SCREENSHOTS === '1'
const SHOTS = SHOTS_KEPT
  ? new URL('../../docs/screenshots/', import.meta.url).pathname
  : mkdtempSync(join(tmpdir(), 'devsys-dashboard-shots-'))
const FULL = `${OWNER}/${REPO}`

const world = useE2eWorld()
let browser: Browser

beforeAll(async () => {
  if (!hasTools) return
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  })
})
afterAll(async () => {
  await browser?.close()
  if (!SHOTS_KEPT) rmSync(SHOTS, { recursive: true, force: true })
})

/** A person opens the dashboard in a browser of their own and signs in with GitHub as `login`. */
async function signIn(base: string, oauth: ReturnType<typeof fakeOAuth>, login: string) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } })
  const page = await context.newPage()
  await page.goto(`${base}/dashboard`)
  expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in')
  oauth.signInAs(login)
  await page.getByRole('link', { name: 'Sign in with GitHub' }).click()
  await page.waitForURL(`${base}/dashboard`)
  await expect.poll(() => page.locator('.who').textContent()).toBe(login)
  return { context, page }
}

async function shot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
}

/** POSTs a form from inside `context` (its cookies), as a page of another site could try. */
function forge(context: BrowserContext, base: string, path: string, form: Record<string, string>) {
  return context.request.post(`${base}${path}`, { form, maxRedirects: 0 })
}

describe.skipIf(!hasTools)('the dashboard in Chromium, end to end', () => {
  it('sign in with GitHub, a deploy appears live, Roll back switches the environment back and is audited; viewers get no button and forged POSTs are refused', {
    timeout: 420_000,
  }, async () => {
    const oauth = fakeOAuth(CLIENT)
    // Codertocat files the task issue; mona comments /deploy and rolls back.
    oauth.permissions.set('Codertocat', 'admin')
    oauth.permissions.set('mona', 'write')
    oauth.permissions.set('vic', 'read')
    oauth.permissions.set('ada', 'admin')
    world.github.routes(...oauth.routes)
    const devsys = await world.startDevsys({
      env: {
        GITHUB_CLIENT_ID: CLIENT.id,
        GITHUB_CLIENT_SECRET: CLIENT.secret,
        MANAGER_API_TOKEN: API_TOKEN,
      },
    })
    const base = `http://127.0.0.1:${devsys.port}`

    // 1. The blog is merged and deployed to production (release = the merge's tree).
    const first = await mergeAndDeploy(world)
    const firstRelease = git(world.remote.bare, 'rev-parse', `${first.merge}^{tree}`)

    // 2. mona (write → operator) signs in; the grid shows what is live in production.
    const mona = await signIn(base, oauth, 'mona')
    const grid = mona.page.locator(`tr[data-env="${FULL}:production"]`)
    await expect.poll(() => grid.textContent()).toContain(firstRelease.slice(0, 7))
    expect(await grid.textContent()).toContain(first.merge.slice(0, 7))
    expect(await grid.textContent()).toContain('passed')
    const cookies = await mona.context.cookies(base)
    const session = cookies.find((c) => c.name === 'devsys_session')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' })
    const page = await httpRequest(`${base}/dashboard`, {
      headers: { cookie: `devsys_session=${session?.value}` },
    })
    expect(page.headers['content-security-policy']).toContain("default-src 'self'")
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)/)
    for (const secret of [CLIENT.secret, API_TOKEN, devsys.webhookSecret, world.github.token]) {
      expect(page.text).not.toContain(secret)
    }
    await shot(mona.page, 'environments')

    // 3. With production's history open, a deploy started elsewhere (/deploy on the PR, of a
    //    new commit on its branch) appears without a reload.
    await mona.page.goto(`${base}/dashboard/env?repo=${FULL}&env=production`)
    await mona.page.evaluate(() => {
      ;(globalThis as unknown as { notReloaded: boolean }).notReloaded = true
    })
    const work = first.work
    git(work, 'checkout', '-q', '-B', first.branch, `origin/${first.branch}`)
    mkdirSync(join(work, 'public'), { recursive: true })
    writeFileSync(join(work, 'public', 'about.txt'), 'about-marker-2\n')
    git(work, 'add', 'public/about.txt')
    git(
      work,
      '-c',
      'user.name=Mona',
      '-c',
      'user.email=mona@example.test',
      'commit',
      '-qm',
      'About page',
    )
    git(work, 'push', '-q', 'origin', first.branch)
    const second = revParse(world.remote.bare, first.branch)
    const comment = prCommentPayload(world, {
      pr: first.number,
      body: '/deploy production',
      commentId: 4001,
    })
    expect((await devsys.sendWebhook('issue_comment', comment)).status).toBe(200)
    const commandRow = mona.page.locator('tr[data-deployment]', { hasText: '(command)' })
    await commandRow.first().waitFor({ timeout: 120_000 })
    expect(await deployedStatus(world, second)).toMatchObject({ state: 'success' })
    await expect
      .poll(() => commandRow.first().textContent(), { timeout: 30_000 })
      .toContain('success')
    expect(
      await mona.page.evaluate(
        () => (globalThis as unknown as { notReloaded?: boolean }).notReloaded,
      ),
    ).toBe(true)
    const about = await httpRequest(`${first.site}/about.txt`)
    expect(about.text).toContain('about-marker-2')
    await shot(mona.page, 'environment-history')

    // 4. A viewer sees no button, and a POST they forge with their own valid token is refused.
    const vic = await signIn(base, oauth, 'vic')
    await vic.page.goto(`${base}/dashboard/env?repo=${FULL}&env=production`)
    await vic.page.locator('tr[data-deployment]').first().waitFor()
    expect(await vic.page.getByRole('link', { name: 'Roll back' }).count()).toBe(0)
    const vicCsrf = await vic.page.locator('input[name=csrf]').first().inputValue()
    const liveId = await commandRow.first().getAttribute('data-deployment')
    const target = { repo: FULL, env: 'production', deployment: String(liveId) }
    const byViewer = await forge(vic.context, base, '/dashboard/rollback', {
      ...target,
      csrf: vicCsrf,
    })
    expect(byViewer.status()).toBe(403)
    expect(await byViewer.text()).toContain('needs write permission')
    // mona's cookie without the form's token, or with another session's, is refused too.
    expect((await forge(mona.context, base, '/dashboard/rollback', target)).status()).toBe(403)
    const wrong = await forge(mona.context, base, '/dashboard/rollback', {
      ...target,
      csrf: vicCsrf,
    })
    expect(wrong.status()).toBe(403)
    expect(await wrong.text()).toContain('CSRF token')
    // A sign-in whose state DevSys did not send is refused.
    const forgedState = await httpRequest(`${base}/dashboard/oauth/callback?code=x&state=forged`)
    expect(forgedState.status).toBe(400)

    // 5. mona rolls back with the button, confirms, and production switches back.
    await mona.page.getByRole('link', { name: 'Roll back' }).click()
    await mona.page.waitForURL(/\/dashboard\/rollback\?/)
    expect(await mona.page.locator('main').textContent()).toContain('switches production')
    await shot(mona.page, 'rollback-confirm')
    await mona.page.getByRole('button', { name: 'Roll back production' }).click()
    await mona.page.waitForURL(/\/dashboard\/env\?/)
    const rollbackRow = mona.page.locator('tr[data-deployment]', { hasText: '(rollback)' })
    await rollbackRow.first().waitFor({ timeout: 120_000 })
    expect(await rollbackRow.first().textContent()).toContain(firstRelease.slice(0, 7))
    expect(await rollbackRow.first().textContent()).toContain('mona')
    await expect
      .poll(() => mona.page.locator(`tr[data-deployment="${liveId}"]`).textContent())
      .toContain('rolled back')
    const audit = mona.page.locator('table.audit')
    await expect
      .poll(() => audit.textContent(), { timeout: 30_000 })
      .toContain('deploy.rolled-back')
    expect(await audit.textContent()).toContain('deploy.rollback-requested')
    expect(await audit.textContent()).toMatch(/mona\s*deploy\.rollback-requested[\s\S]*dashboard/)
    expect((await httpRequest(`${first.site}/about.txt`)).text).not.toContain('about-marker-2')
    await mona.page.goto(`${base}/dashboard`)
    await expect.poll(() => grid.textContent()).toContain(firstRelease.slice(0, 7))
    expect(await grid.textContent()).toContain('(rollback)')
    await shot(mona.page, 'environments-after-rollback')

    // 6. The task's timeline, queue health, and a phone-sized page.
    await mona.page.goto(`${base}/dashboard/task?repo=${FULL}&id=${first.taskId}`)
    expect(await mona.page.locator('ol.timeline').textContent()).toContain('Rollback')
    await shot(mona.page, 'task-timeline')
    await mona.page.goto(`${base}/dashboard/queue`)
    expect(await mona.page.locator('main').textContent()).toContain('Deploy locks')
    await shot(mona.page, 'queue')
    await mona.page.setViewportSize({ width: 390, height: 800 })
    await mona.page.goto(`${base}/dashboard`)
    await shot(mona.page, 'phone-environments')

    // 7. A stuck lock on staging: an operator gets no Release lock button and a forged release
    //    is refused; an admin (ada) releases it with the button, and it is audited.
    const db = new Database(join(devsys.dataDir, 'devsys.sqlite'))
    db.pragma('busy_timeout = 5000')
    db.prepare(
      'INSERT INTO deploy_locks (env, owner, reason, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    ).run(
      `${FULL}:staging`,
      'job:999',
      'deploy of a dead worker',
      new Date().toISOString(),
      new Date(Date.now() + 3_600_000).toISOString(),
    )
    db.close()
    await mona.page.setViewportSize({ width: 1100, height: 700 })
    await mona.page.goto(`${base}/dashboard/queue`)
    const lockRow = mona.page.locator(`tr[data-lock="${FULL}:staging"]`)
    await expect.poll(() => lockRow.textContent()).toContain('job:999')
    expect(await mona.page.getByRole('button', { name: 'Release lock' }).count()).toBe(0)
    const monaCsrf = await mona.page.locator('input[name=csrf]').first().inputValue()
    const lock = { env: `${FULL}:staging`, owner: 'job:999' }
    const byOperator = await forge(mona.context, base, '/dashboard/locks/release', {
      ...lock,
      csrf: monaCsrf,
    })
    expect(byOperator.status()).toBe(403)
    const ada = await signIn(base, oauth, 'ada')
    await ada.page.goto(`${base}/dashboard/queue`)
    await shot(ada.page, 'queue-admin')
    await ada.page.getByRole('button', { name: 'Release lock' }).click()
    await ada.page.waitForURL(`${base}/dashboard/queue`)
    expect(await ada.page.locator(`tr[data-lock="${FULL}:staging"]`).count()).toBe(0)
    await ada.page.goto(`${base}/dashboard/env?repo=${FULL}&env=staging`)
    expect(await ada.page.locator('table.audit').textContent()).toMatch(
      /ada\s*deploy\.lock-released/,
    )
    await ada.context.close()

    // 8. A script signs in with the API token (an admin today) and reads the same pages.
    const script = await httpRequest(`${base}/dashboard/env?repo=${FULL}&env=production`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    })
    expect(script.status).toBe(200)
    expect(script.text).toContain('Roll back')
    const badToken = await httpRequest(`${base}/dashboard`, {
      headers: { authorization: 'Bearer not-the-token-0123456789' },
    })
    expect(badToken.status).toBe(401)

    await mona.context.close()
    await vic.context.close()
    expect(world.github.problems().filter((p) => !oauth.isOAuthPage(p))).toEqual([])
  })
})
