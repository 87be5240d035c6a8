import { describe, expect, it } from 'vitest'
import {
  formatDuration,
  formatIncidentOpened,
  formatIncidentTitle,
} from '../../src/report/format-incident.js'

const live = {
  deployment: {
    id: 12,
    commitSha: 'abcdef1234567890',
    taskId: 'blog',
    trigger: 'merge' as const,
    actor: 'mona',
    finishedAt: '2026-06-01T11:58:00.000Z',
    createdAt: '2026-06-01T11:57:00.000Z',
    url: 'http://127.0.0.1:41234',
  },
  pullRequest: 5,
}

describe('incident texts', () => {
  it('says how long, in the largest units that matter', () => {
    expect(formatDuration(45_000)).toBe('45 s')
    expect(formatDuration(165_000)).toBe('2 min 45 s')
    expect(formatDuration(7_260_000)).toBe('2 h 1 min')
  })

  it('names the first three failing checks in the title', () => {
    const f = (id: string) => ({ id, status: 500, expected: 200, problems: [] })
    expect(formatIncidentTitle('staging', [f('a'), f('b'), f('c'), f('d')])).toBe(
      'staging is down: a, b, c and 1 more failing',
    )
  })

  it('quotes an answer so it cannot close its code block or break the table', () => {
    const body = formatIncidentOpened({
      environment: 'production',
      url: 'https://blog.example.com',
      failures: [
        {
          id: 'home|page',
          request: 'GET /',
          status: 500,
          expected: 200,
          problems: ['status 500, expected 200'],
          excerpt: 'oops ``` # injected heading',
        },
      ],
      failingSince: '2026-06-01T12:01:00.000Z',
      checks: 3,
      live,
      intervalSeconds: 60,
      successThreshold: 2,
      rollingBack: false,
    })
    expect(body).toContain(
      '| home\\|page | `GET /` | 500 (expected 200) | status 500, expected 200 |',
    )
    expect(body).toContain('oops `\u200b`` # injected heading')
    expect(body).toContain(
      '`abcdef1` from #5 (task `blog`) deployed by @mona at 2026-06-01T11:58:00.000Z, deployment 12',
    )
    expect(body).not.toContain('rolling it back')
  })
})
