import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import nock from 'nock'
import { localDeployRoot } from '../../src/deploy/create-target.js'
import type { IntakeHarness } from '../intake/harness.js'
import { OWNER, REPO } from './deploy-fixture.js'

const API = 'https://api.github.com'

/** The site's page: it answers 500 with an error page while the shared flag file exists. */
export function flakyPage(text: string): Record<string, string> {
  return {
    'public/index.php': `<?php\nif (is_file(__DIR__ . '/../data/down')) {\n  http_response_code(500);\n  echo "Fatal error: database unreachable\\n";\n  exit;\n}\necho 'Hello from DevSys: ${text}';\n`,
    'data/.keep': '',
  }
}

/** The repo config: production on the local target with `data` shared, and these monitor keys. */
export function monitorConfig(monitor = 'reminderMinutes: 0', environment = ''): string {
  return `environments:\n  production:\n    target: local\n    shared: [data]\n${environment}monitor:\n  ${monitor}\n`
}

/** Takes the site down (or brings it back) through the flag file in its shared folder. */
export function setDown(devsys: IntakeHarness, down: boolean): void {
  const flag = join(
    localDeployRoot(devsys.dataDir, `${OWNER}/${REPO}`, 'production'),
    'shared',
    'data',
    'down',
  )
  if (down) writeFileSync(flag, 'down')
  else rmSync(flag, { force: true })
}

interface IssueBody {
  title: string
  body: string
  labels: string[]
}

/** GET /repos/{o}/{r}/issues?labels=… → these open issues. */
export function nockListIssues(
  labels: string,
  issues: Array<{ number: number; body?: string; labels?: string[] }> = [],
): nock.Scope {
  return nock(API)
    .get(`/repos/${OWNER}/${REPO}/issues`)
    .query((q) => q.labels === labels && q.state === 'open')
    .reply(
      200,
      issues.map((i) => ({
        id: i.number * 10,
        number: i.number,
        title: 'an issue',
        body: i.body ?? '',
        state: 'open',
        labels: (i.labels ?? labels.split(',')).map((name) => ({ name })),
        html_url: `https://github.com/${OWNER}/${REPO}/issues/${i.number}`,
      })),
    )
}

/** POST /repos/{o}/{r}/issues → issue `number`; resolves with what DevSys sent. */
export function nockCreateIssue(number: number): Promise<IssueBody> {
  return new Promise((resolve) => {
    nock(API)
      .post(`/repos/${OWNER}/${REPO}/issues`)
      .reply(async (request: Request) => {
        const body = (await request.json()) as IssueBody
        resolve(body)
        const issue = {
          id: number * 10,
          number,
          title: body.title,
          state: 'open',
          html_url: `https://github.com/${OWNER}/${REPO}/issues/${number}`,
        }
        return [201, issue] as const
      })
  })
}

/** PATCH /repos/{o}/{r}/issues/{number}; resolves with what DevSys sent. */
export function nockUpdateIssue(
  number: number,
): Promise<{ state?: string; state_reason?: string }> {
  return new Promise((resolve) => {
    nock(API)
      .patch(`/repos/${OWNER}/${REPO}/issues/${number}`)
      .reply(async (request: Request) => {
        resolve((await request.json()) as { state?: string })
        return [200, { id: number * 10, number, state: 'closed' }] as const
      })
  })
}

/** GET /repos/{o}/{r}: the repository, for jobs queued with its name only (the monitor's rollback). */
export function nockGetRepo(cloneUrl: string): nock.Scope {
  return nock(API)
    .get(`/repos/${OWNER}/${REPO}`)
    .reply(200, {
      id: 1296269,
      name: REPO,
      full_name: `${OWNER}/${REPO}`,
      owner: { login: OWNER },
      clone_url: cloneUrl,
      html_url: `https://github.com/${OWNER}/${REPO}`,
      default_branch: 'main',
    })
}
